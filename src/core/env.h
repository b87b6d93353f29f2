// Env: the handle through which domain code reaches the clock, randomness,
// files, sleeping, threads and processes (LevelDB's Env, Envoy's Api and
// TimeSource).
// Production code uses Env::Default(); tests pass a FakeEnv (simulated time,
// seeded randomness), a MemEnv (files in memory, core/mem_env.h) or a
// FaultInjectionEnv (failing files or threads on demand,
// core/fault_injection_env.h).
//
// What stays outside: the artifact store's and the upload path's file work,
// which depends on Linux calls Env does not model (openat2 with
// RESOLVE_NO_SYMLINKS, O_NOFOLLOW), and the files DuckDB and the databases
// open themselves.
//
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"

namespace cairn {

// What Env::Stat knows of a path.
struct FileInfo {
  bool exists = false;
  bool is_directory = false;
  uint64_t size = 0;
  int64_t modified_micros = 0;
};

// A program to run: argv[0] is looked up in PATH when it has no slash.
struct ProcessSpec {
  std::vector<std::string> argv;
  // Added to (or replacing) the parent's environment.
  std::vector<std::pair<std::string, std::string>> environment;
  std::string working_dir;  // "" : the parent's.
  // Where the output goes ("": /dev/null). Files are created or truncated.
  std::string stdout_path;
  std::string stderr_path;
};

// A started process. Destroying it does not stop the process; Wait first.
class Process {
 public:
  virtual ~Process() = default;
  virtual int pid() const = 0;
  // Blocks until the process ends. Returns its exit code, or 128 + the
  // signal that killed it (as a shell reports it).
  virtual StatusOr<int> Wait() = 0;
  // The exit code if it has ended, nullopt if it still runs.
  virtual StatusOr<std::optional<int>> Poll() = 0;
  // Sends `signal` (SIGTERM, SIGKILL) to the process.
  virtual Status Kill(int signal) = 0;
};

// A held advisory lock on a file (Env::LockFile). Destroying it releases
// the lock. Locks coordinate processes too (flock on the real Env).
class FileLock {
 public:
  virtual ~FileLock() = default;
};

// How Env::LockFile takes a lock.
enum class LockMode { kShared, kExclusive };

// A thread started by Env::StartThread. Join waits for it to end;
// destruction joins too (a thread is never left detached).
class Thread {
 public:
  virtual ~Thread() = default;
  virtual void Join() = 0;
};

// Repeating work scheduled on an Env's clock (Env::StartRepeating).
// Cancel() or destruction stops it: once either returns, the callback is
// not running and will not run again. REQUIRES: not called from the
// callback itself.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void Cancel() = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // ---- Files. Errors name the path; NotFound when it does not exist.

  // The whole file. Errors: NotFound; ResourceExhausted when it is larger
  // than `max_bytes` (files named by users may be anything); Unavailable
  // for other IO errors.
  virtual StatusOr<std::string> ReadFile(const std::string& path,
                                         uint64_t max_bytes = 64ull << 20) = 0;
  // Replaces `path` whole: a temporary file beside it is written, fsynced
  // and renamed over it, then the folder is fsynced, so readers (and a
  // crash) see the old contents or the new, never a mix. `mode` applies to
  // the new file (0600 for secrets). Errors: NotFound when the folder does
  // not exist; Unavailable otherwise, and the old file is left as it was.
  virtual Status WriteFileAtomically(const std::string& path, std::string_view contents,
                                     int mode = 0644) = 0;
  // The names in a folder (no "." or ".."), sorted. Errors: NotFound.
  virtual StatusOr<std::vector<std::string>> ListDirectory(const std::string& path) = 0;
  // What is at `path` (exists false when nothing is). Follows symlinks.
  virtual StatusOr<FileInfo> Stat(const std::string& path) = 0;
  // Creates the folder and missing parents; OK when it exists.
  virtual Status CreateDirectories(const std::string& path) = 0;
  // Removes a file or an empty folder; OK when nothing is there.
  virtual Status RemoveFile(const std::string& path) = 0;
  // Moves `from` to `to` in one step, replacing `to` (same file system).
  // Not durable until the folder is synced (SyncPath).
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Makes a file's contents, or a folder's names (after creating, renaming
  // or removing in it), durable: fsync.
  virtual Status SyncPath(const std::string& path) = 0;
  // Takes an advisory lock on `path` (created when missing), waiting for it
  // when `wait`; otherwise returns null when someone else holds it in a
  // conflicting mode. Locks are per call: two exclusive locks from one
  // process conflict like two from different processes.
  virtual StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path, LockMode mode,
                                                       bool wait) = 0;

  // ---- Time and sleeping.

  // Wall-clock time since the Unix epoch.
  virtual int64_t NowMicros() = 0;
  int64_t NowMillis() { return NowMicros() / 1000; }

  // A monotonic clock for durations; unrelated to wall time.
  virtual int64_t MonotonicNanos() = 0;

  // Blocks the calling thread for `micros` (FakeEnv: advances its clock).
  virtual void SleepForMicros(int64_t micros) = 0;

  // Runs `fn` every `period_micros` by this Env's clock, the first time one
  // period from now: on a thread of its own (the real Env), or on the
  // thread that moves a FakeEnv's clock past each due time, so tests run
  // background work deterministically. REQUIRES: period_micros > 0.
  virtual std::unique_ptr<Timer> StartRepeating(int64_t period_micros,
                                                std::function<void()> fn) = 0;

  // `n` cryptographically unpredictable bytes, hex encoded (2n characters).
  virtual std::string RandomHex(size_t n) = 0;

  // ---- Threads and processes.

  // Runs `fn` on a new thread named `name` (the first 15 characters show in
  // top -H, gdb and perf). Errors: Unavailable when the system refuses a
  // thread (RLIMIT_NPROC, memory): callers answer that instead of dying,
  // which is what std::thread's exception would do uncaught.
  virtual StatusOr<std::unique_ptr<Thread>> StartThread(const std::string& name,
                                                        std::function<void()> fn) = 0;

  // Starts `spec`. Errors: InvalidArgument for an empty argv; NotFound when
  // the program does not exist; Unavailable when it cannot be started.
  virtual StatusOr<std::unique_ptr<Process>> StartProcess(const ProcessSpec& spec) = 0;

  // The process-wide real environment. Never destroyed.
  static Env* Default();
};

// Forwards every call to another Env: derive from it to change a few
// (LevelDB's EnvWrapper). The target must outlive the wrapper.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  StatusOr<std::string> ReadFile(const std::string& path, uint64_t max_bytes) override {
    return target_->ReadFile(path, max_bytes);
  }
  Status WriteFileAtomically(const std::string& path, std::string_view contents,
                             int mode) override {
    return target_->WriteFileAtomically(path, contents, mode);
  }
  StatusOr<std::vector<std::string>> ListDirectory(const std::string& path) override {
    return target_->ListDirectory(path);
  }
  StatusOr<FileInfo> Stat(const std::string& path) override { return target_->Stat(path); }
  Status CreateDirectories(const std::string& path) override {
    return target_->CreateDirectories(path);
  }
  Status RemoveFile(const std::string& path) override { return target_->RemoveFile(path); }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return target_->RenameFile(from, to);
  }
  Status SyncPath(const std::string& path) override { return target_->SyncPath(path); }
  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path, LockMode mode,
                                               bool wait) override {
    return target_->LockFile(path, mode, wait);
  }
  int64_t NowMicros() override { return target_->NowMicros(); }
  int64_t MonotonicNanos() override { return target_->MonotonicNanos(); }
  void SleepForMicros(int64_t micros) override { target_->SleepForMicros(micros); }
  std::unique_ptr<Timer> StartRepeating(int64_t period_micros, std::function<void()> fn) override {
    return target_->StartRepeating(period_micros, std::move(fn));
  }
  std::string RandomHex(size_t n) override { return target_->RandomHex(n); }
  StatusOr<std::unique_ptr<Thread>> StartThread(const std::string& name,
                                                std::function<void()> fn) override {
    return target_->StartThread(name, std::move(fn));
  }
  StatusOr<std::unique_ptr<Process>> StartProcess(const ProcessSpec& spec) override {
    return target_->StartProcess(spec);
  }

 private:
  Env* target_;
};

// Deterministic Env for tests: time moves only when told to (or slept), and
// repeating timers fire on the thread that moves it; randomness is seeded.
// Files and processes are the real ones (wrap it in a MemEnv for files in
// memory).
class FakeEnv : public EnvWrapper {
 public:
  explicit FakeEnv(int64_t start_micros = 1'700'000'000'000'000, uint64_t seed = 42)
      : EnvWrapper(Env::Default()), now_micros_(start_micros), rng_(seed) {}

  int64_t NowMicros() override { return now_micros_.load(); }
  int64_t MonotonicNanos() override { return now_micros_.load() * 1000; }
  void SleepForMicros(int64_t micros) override { AdvanceMicros(micros); }
  std::string RandomHex(size_t n) override;
  std::unique_ptr<Timer> StartRepeating(int64_t period_micros, std::function<void()> fn) override;

  // Moves the clock and runs every timer callback that falls due, in time
  // order, on this thread.
  void AdvanceMicros(int64_t delta);
  void SetNowMicros(int64_t now) { now_micros_ = now; }

 private:
  struct FakeTimer;
  std::atomic<int64_t> now_micros_;
  Mutex mu_;
  std::mt19937_64 rng_ GUARDED_BY(mu_);
  Mutex timers_mu_;
  std::vector<FakeTimer*> timers_ GUARDED_BY(timers_mu_);
  // Held while callbacks run, so that Cancel waits for a running one.
  Mutex firing_mu_;
};

}  // namespace cairn
