#include "core/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <thread>

namespace cairn {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

std::string ToHex(const unsigned char* bytes, size_t n) {
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 0xf];
  }
  return out;
}

std::string ErrnoText(int error) { return std::strerror(error); }

// An IO error on `path` as a Status: NotFound for ENOENT/ENOTDIR.
Status IoError(const std::string& what, const std::string& path, int error) {
  std::string message = "cannot " + what + " " + path + ": " + ErrnoText(error);
  if (error == ENOENT || error == ENOTDIR) return NotFound(message);
  return Unavailable(message);
}

// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("write", path, errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

class RealProcess : public Process {
 public:
  explicit RealProcess(pid_t pid) : pid_(pid) {}
  int pid() const override { return pid_; }

  StatusOr<int> Wait() override {
    if (exit_code_) return *exit_code_;
    int status = 0;
    for (;;) {
      pid_t got = ::waitpid(pid_, &status, 0);
      if (got == pid_) break;
      if (got < 0 && errno == EINTR) continue;
      return Unavailable("cannot wait for process " + std::to_string(pid_) + ": " +
                         ErrnoText(errno));
    }
    exit_code_ = Decode(status);
    return *exit_code_;
  }

  StatusOr<std::optional<int>> Poll() override {
    if (exit_code_) return std::optional<int>(*exit_code_);
    int status = 0;
    pid_t got = ::waitpid(pid_, &status, WNOHANG);
    if (got == 0) return std::optional<int>();
    if (got < 0) {
      return Unavailable("cannot poll process " + std::to_string(pid_) + ": " + ErrnoText(errno));
    }
    exit_code_ = Decode(status);
    return std::optional<int>(*exit_code_);
  }

  Status Kill(int signal) override {
    if (exit_code_) return Status::Ok();  // Reaped: the pid may belong to another process now.
    if (::kill(pid_, signal) != 0 && errno != ESRCH) {
      return Unavailable("cannot signal process " + std::to_string(pid_) + ": " + ErrnoText(errno));
    }
    return Status::Ok();
  }

 private:
  static int Decode(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
  }

  pid_t pid_;
  std::optional<int> exit_code_;
};

// A repeating timer on its own thread, by the steady clock.
class ThreadTimer : public Timer {
 public:
  ThreadTimer(int64_t period_micros, std::function<void()> fn)
      : thread_([this, period_micros, fn = std::move(fn)] { Run(period_micros, fn); }) {}
  ~ThreadTimer() override { ThreadTimer::Cancel(); }

  void Cancel() override {
    {
      MutexLock lock(&mu_);
      cancelled_ = true;
    }
    cv_.SignalAll();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run(int64_t period_micros, const std::function<void()>& fn) {
    for (;;) {
      auto due = std::chrono::steady_clock::now() + std::chrono::microseconds(period_micros);
      {
        MutexLock lock(&mu_);
        while (!cancelled_ && std::chrono::steady_clock::now() < due) {
          cv_.WaitFor(due - std::chrono::steady_clock::now());
        }
        if (cancelled_) return;
      }
      fn();
    }
  }

  Mutex mu_;
  CondVar cv_{&mu_};
  bool cancelled_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // Last: it starts once the members above exist.
};

// An flock on an open descriptor; closing the descriptor releases it.
class RealFileLock : public FileLock {
 public:
  explicit RealFileLock(int fd) : fd_(fd) {}
  ~RealFileLock() override { ::close(fd_); }
  RealFileLock(const RealFileLock&) = delete;
  RealFileLock& operator=(const RealFileLock&) = delete;

 private:
  int fd_;
};

class RealThread : public Thread {
 public:
  explicit RealThread(std::thread thread) : thread_(std::move(thread)) {}
  ~RealThread() override { RealThread::Join(); }
  void Join() override {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

class RealEnv : public Env {
 public:
  StatusOr<std::string> ReadFile(const std::string& path, uint64_t max_bytes) override {
    // O_NONBLOCK: opening a FIFO someone left in place must not hang the
    // caller; only regular files are read.
    Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (file.fd < 0) return IoError("read", path, errno);
    struct stat info {};
    if (::fstat(file.fd, &info) != 0) return IoError("read", path, errno);
    if (S_ISDIR(info.st_mode))
      return InvalidArgument("cannot read " + path + ": not a regular file (a folder)");
    if (!S_ISREG(info.st_mode)) {
      return InvalidArgument("cannot read " + path + ": not a regular file");
    }
    if (static_cast<uint64_t>(info.st_size) > max_bytes) {
      return ResourceExhausted("cannot read " + path + ": " + std::to_string(info.st_size) +
                               " bytes is over the limit of " + std::to_string(max_bytes));
    }
    std::string out;
    out.reserve(static_cast<size_t>(info.st_size));
    char buffer[64 * 1024];
    for (;;) {
      ssize_t n = ::read(file.fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IoError("read", path, errno);
      if (n == 0) break;
      out.append(buffer, static_cast<size_t>(n));
      if (out.size() > max_bytes) {  // It grew while we read.
        return ResourceExhausted("cannot read " + path + ": over the limit of " +
                                 std::to_string(max_bytes) + " bytes");
      }
    }
    return out;
  }

  Status WriteFileAtomically(const std::string& path, std::string_view contents,
                             int mode) override {
    std::filesystem::path target(path);
    std::string folder = target.has_parent_path() ? target.parent_path().string() : ".";
    std::string temporary = folder + "/." + target.filename().string() + ".tmp-" + RandomHex(6);
    {
      Fd file(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
      if (file.fd < 0) return IoError("write", path, errno);
      Status written = WriteAll(file.fd, contents, path);
      if (written.ok() && ::fchmod(file.fd, static_cast<mode_t>(mode)) != 0) {
        written = IoError("set the mode of", path, errno);
      }
      if (written.ok() && ::fsync(file.fd) != 0) written = IoError("sync", path, errno);
      if (!written.ok()) {
        ::unlink(temporary.c_str());
        return written;
      }
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
      int error = errno;
      ::unlink(temporary.c_str());
      return IoError("replace", path, error);
    }
    // The rename is durable once the folder is synced.
    Fd dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.fd < 0 || ::fsync(dir.fd) != 0) return IoError("sync the folder of", path, errno);
    return Status::Ok();
  }

  StatusOr<std::vector<std::string>> ListDirectory(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return IoError("list", path, errno);
    std::vector<std::string> names;
    while (dirent* entry = ::readdir(dir)) {
      std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
  }

  StatusOr<FileInfo> Stat(const std::string& path) override {
    struct stat st {};
    FileInfo info;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return info;
      return IoError("inspect", path, errno);
    }
    info.exists = true;
    info.is_directory = S_ISDIR(st.st_mode);
    info.size = static_cast<uint64_t>(st.st_size);
    info.modified_micros = int64_t{st.st_mtim.tv_sec} * 1'000'000 + st.st_mtim.tv_nsec / 1000;
    return info;
  }

  Status CreateDirectories(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return Unavailable("cannot create the folder " + path + ": " + ec.message());
    return Status::Ok();
  }

  Status RemoveFile(const std::string& path) override {
    if (::remove(path.c_str()) != 0 && errno != ENOENT) return IoError("remove", path, errno);
    return Status::Ok();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return IoError("rename " + from + " to", to, errno);
    return Status::Ok();
  }

  Status SyncPath(const std::string& path) override {
    Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (file.fd < 0 || ::fsync(file.fd) != 0) return IoError("sync", path, errno);
    return Status::Ok();
  }

  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path, LockMode mode,
                                               bool wait) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return IoError("open the lock file", path, errno);
    int how = (mode == LockMode::kShared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB);
    int rc;
    do {
      rc = ::flock(fd, how);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      int error = errno;
      ::close(fd);
      if (error == EWOULDBLOCK) return std::unique_ptr<FileLock>();
      return IoError("lock", path, error);
    }
    return std::unique_ptr<FileLock>(std::make_unique<RealFileLock>(fd));
  }

  StatusOr<std::unique_ptr<Thread>> StartThread(const std::string& name,
                                                std::function<void()> fn) override {
    try {
      std::thread thread(std::move(fn));
      ::pthread_setname_np(thread.native_handle(), name.substr(0, 15).c_str());
      return std::unique_ptr<Thread>(std::make_unique<RealThread>(std::move(thread)));
    } catch (const std::system_error& e) {
      return Unavailable("cannot start the thread '" + name + "': " + e.what() +
                         " (the process is at its thread limit: raise ulimit -u or lower the "
                         "configured thread counts)");
    }
  }

  void SleepForMicros(int64_t micros) override {
    std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }

  std::unique_ptr<Timer> StartRepeating(int64_t period_micros, std::function<void()> fn) override {
    return std::make_unique<ThreadTimer>(period_micros, std::move(fn));
  }

  StatusOr<std::unique_ptr<Process>> StartProcess(const ProcessSpec& spec) override {
    if (spec.argv.empty()) return InvalidArgument("cannot start a process with no program");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    auto output = [&](int fd, const std::string& file) {
      const char* target = file.empty() ? "/dev/null" : file.c_str();
      posix_spawn_file_actions_addopen(&actions, fd, target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    };
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    output(1, spec.stdout_path);
    output(2, spec.stderr_path);
    if (!spec.working_dir.empty()) {
      posix_spawn_file_actions_addchdir_np(&actions, spec.working_dir.c_str());
    }
    // The environment: the parent's, with the spec's entries replacing or added.
    std::vector<std::string> environment;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string_view entry = *e;
      std::string_view name = entry.substr(0, entry.find('='));
      bool replaced = std::any_of(spec.environment.begin(), spec.environment.end(),
                                  [&](const auto& kv) { return kv.first == name; });
      if (!replaced) environment.emplace_back(entry);
    }
    for (const auto& [name, value] : spec.environment) environment.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (std::string& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = spec.argv;
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int error = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) {
      std::string message = "cannot start " + spec.argv[0] + ": " + ErrnoText(error);
      return error == ENOENT ? NotFound(message) : Unavailable(message);
    }
    return std::unique_ptr<Process>(std::make_unique<RealProcess>(pid));
  }

  int64_t NowMicros() override {
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    return duration_cast<microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  int64_t MonotonicNanos() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  std::string RandomHex(size_t n) override {
    std::string bytes(n, '\0');
    size_t filled = 0;
    while (filled < n) {  // getrandom may return fewer bytes than asked when interrupted.
      ssize_t got = getrandom(bytes.data() + filled, n - filled, 0);
      if (got > 0) filled += static_cast<size_t>(got);
    }
    return ToHex(reinterpret_cast<const unsigned char*>(bytes.data()), n);
  }
};

}  // namespace

Env* Env::Default() {
  static Env* env = new RealEnv();  // Intentionally leaked: lives for the process.
  return env;
}

struct FakeEnv::FakeTimer : Timer {
  FakeTimer(FakeEnv* owner, int64_t period, int64_t first_due, std::function<void()> callback)
      : env(owner), period_micros(period), next_due(first_due), fn(std::move(callback)) {}
  ~FakeTimer() override { FakeTimer::Cancel(); }

  void Cancel() override {
    // After a callback that is running (on the advancing thread) returns.
    MutexLock firing(&env->firing_mu_);
    MutexLock lock(&env->timers_mu_);
    std::erase(env->timers_, this);
  }

  FakeEnv* const env;
  const int64_t period_micros;
  int64_t next_due;  // Read and written by the thread advancing the clock, under firing_mu_.
  const std::function<void()> fn;
};

std::unique_ptr<Timer> FakeEnv::StartRepeating(int64_t period_micros, std::function<void()> fn) {
  auto timer =
      std::make_unique<FakeTimer>(this, period_micros, NowMicros() + period_micros, std::move(fn));
  MutexLock lock(&timers_mu_);
  timers_.push_back(timer.get());
  return timer;
}

void FakeEnv::AdvanceMicros(int64_t delta) {
  MutexLock firing(&firing_mu_);
  int64_t target = now_micros_.load() + delta;
  for (;;) {
    FakeTimer* due = nullptr;
    {
      MutexLock lock(&timers_mu_);
      for (FakeTimer* t : timers_) {
        if (t->next_due <= target && (due == nullptr || t->next_due < due->next_due)) due = t;
      }
    }
    if (due == nullptr) break;
    // The callback sees the clock at its due time; periods missed while the
    // clock was set ahead are skipped, as the real timer skips them.
    if (due->next_due > now_micros_.load()) now_micros_ = due->next_due;
    due->next_due = std::max(due->next_due, now_micros_.load()) + due->period_micros;
    due->fn();
  }
  now_micros_ = target;
}

std::string FakeEnv::RandomHex(size_t n) {
  std::string bytes(n, '\0');
  MutexLock lock(&mu_);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>(rng_() & 0xff);
  return ToHex(reinterpret_cast<const unsigned char*>(bytes.data()), n);
}

}  // namespace cairn
