#include "artifacts/local/local_artifact_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "core/env.h"

namespace cairn::artifacts {
namespace {

namespace fs = std::filesystem;

constexpr char kSpool[] = ".spool";

// A file descriptor owned by one scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string ErrnoText(int err) { return std::strerror(err); }

Status LinkRefused(std::string_view path) {
  return InvalidArgument("Artifact path '" + std::string(path) +
                         "' goes through a symbolic link; the artifact store does not follow "
                         "links. Remove the link from the store and upload the files instead.");
}

Status Fsync(int fd, std::string_view what) {
  if (::fsync(fd) != 0) {
    return Internal("Cannot fsync " + std::string(what) + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

// Splits "a/b/c" into "a/b" and "c" ("c" alone into "" and "c").
std::pair<std::string, std::string> SplitParent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

// The folders "a", "a/b" on the way to "a/b/c" and their last components.
std::vector<std::string> Components(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

// Removes `name` in `parent`: a file or link is unlinked (a link's target is
// never touched), a folder is emptied first without following any link.
Status RemoveTree(int parent, const std::string& name, std::string_view shown) {
  Fd dir(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) {
    if (errno == ENOTDIR || errno == ELOOP) {
      if (::unlinkat(parent, name.c_str(), 0) == 0 || errno == ENOENT) return Status::Ok();
    } else if (errno == ENOENT) {
      return Status::Ok();
    }
    return Internal("Cannot delete artifact '" + std::string(shown) + "': " + ErrnoText(errno));
  }
  DIR* stream = ::fdopendir(dir.get());
  if (stream == nullptr) {
    return Internal("Cannot list artifact '" + std::string(shown) + "': " + ErrnoText(errno));
  }
  dir.release();  // Owned by `stream` now.
  Status result = Status::Ok();
  while (dirent* entry = ::readdir(stream)) {
    std::string child = entry->d_name;
    if (child == "." || child == "..") continue;
    result = RemoveTree(::dirfd(stream), child, shown);
    if (!result.ok()) break;
  }
  ::closedir(stream);
  RETURN_IF_ERROR(result);
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return Internal("Cannot delete artifact '" + std::string(shown) + "': " + ErrnoText(errno));
  }
  return Status::Ok();
}

class LocalArtifactStore : public ArtifactStore {
 public:
  LocalArtifactStore(fs::path root, Fd root_fd, LocalArtifactStoreOptions options)
      : root_(std::move(root)),
        spool_(root_ / kSpool),
        root_fd_(std::move(root_fd)),
        use_openat2_(options.use_openat2),
        env_(options.env != nullptr ? options.env : Env::Default()) {}

  std::string uri() const override { return "file://" + root_.string(); }
  std::string SpoolDir() const override { return spool_.string(); }

  Status PutFile(std::string_view path, const std::string& source_file,
                 const BeforeChange& before_change) override {
    ASSIGN_OR_RETURN(std::string normalized, Resolve(path, /*allow_root=*/false));
    auto [parent, name] = SplitParent(normalized);
    ASSIGN_OR_RETURN(Fd dir, OpenDir(parent, /*create=*/true));
    struct stat existing;
    if (::fstatat(dir.get(), name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(existing.st_mode)) {
      return InvalidArgument("Artifact path '" + normalized +
                             "' is a folder; upload a file inside it (e.g. '" + normalized +
                             "/<file name>').");
    }
    Fd source(::open(source_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!source.valid()) return NotFound("The upload to '" + normalized + "' has no data file.");
    RETURN_IF_ERROR(Fsync(source.get(), "the upload to '" + normalized + "'"));
    struct stat source_stat, dir_stat;
    if (::fstat(source.get(), &source_stat) != 0 || ::fstat(dir.get(), &dir_stat) != 0) {
      return Internal("Cannot stat the upload to '" + normalized + "': " + ErrnoText(errno));
    }
    bool announced = false;  // before_change runs once, just before the change.
    auto announce = [&]() -> Status {
      if (announced || !before_change) return Status::Ok();
      announced = true;
      return before_change();
    };
    int err = EXDEV;
    if (source_stat.st_dev == dir_stat.st_dev) {
      RETURN_IF_ERROR(announce());
      err = ::renameat(AT_FDCWD, source_file.c_str(), dir.get(), name.c_str()) == 0 ? 0 : errno;
    }
    if (err == EXDEV) {
      // Another filesystem (or mount): copy beside the target, then rename
      // into place, leaving no temp file behind on failure.
      std::string temp = name + ".tmp-" + env_->RandomHex(6);
      Status copied = CopyInto(source.get(), dir.get(), temp, normalized);
      if (copied.ok()) copied = announce();
      if (copied.ok() && ::renameat(dir.get(), temp.c_str(), dir.get(), name.c_str()) != 0) {
        copied = RenameError(normalized, errno);
      }
      if (!copied.ok()) {
        ::unlinkat(dir.get(), temp.c_str(), 0);
        return copied;
      }
      ::unlink(source_file.c_str());
    } else if (err != 0) {
      return RenameError(normalized, err);
    }
    return Fsync(dir.get(), "the folder of '" + normalized + "'");
  }

  Status PutBytes(std::string_view path, std::string_view data) override {
    ASSIGN_OR_RETURN(Fd spool, OpenSpool());
    std::string temp = "bytes-" + env_->RandomHex(8);
    Fd out(::openat(spool.get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0644));
    if (!out.valid()) return Internal("Cannot create a spool file: " + ErrnoText(errno));
    size_t written = 0;
    while (written < data.size()) {
      ssize_t n = ::write(out.get(), data.data() + written, data.size() - written);
      if (n <= 0) {
        int err = errno;
        ::unlinkat(spool.get(), temp.c_str(), 0);
        return Internal("Cannot write a spool file: " + ErrnoText(err));
      }
      written += static_cast<size_t>(n);
    }
    out.reset();
    Status put = PutFile(path, (spool_ / temp).string(), nullptr);
    if (!put.ok()) ::unlinkat(spool.get(), temp.c_str(), 0);
    return put;
  }

  StatusOr<std::string> LocalFile(std::string_view path) override {
    ASSIGN_OR_RETURN(std::string normalized, Resolve(path, false));
    ASSIGN_OR_RETURN(ArtifactKind kind, KindOf(normalized));
    if (kind != ArtifactKind::kFile) {
      return NotFound("No artifact file at '" + normalized + "'");
    }
    return (root_ / normalized).string();
  }

  StatusOr<ArtifactKind> Kind(std::string_view path) override {
    ASSIGN_OR_RETURN(std::string normalized, Resolve(path, true));
    return KindOf(normalized);
  }

  StatusOr<std::vector<ArtifactEntry>> List(std::string_view dir) override {
    ASSIGN_OR_RETURN(std::string normalized, Resolve(dir, true));
    std::vector<ArtifactEntry> entries;
    StatusOr<Fd> opened = OpenDir(normalized, /*create=*/false);
    if (!opened.ok()) {
      // A missing folder, or a file, lists as empty; a link is refused.
      if (opened.status().code() == StatusCode::kNotFound) return entries;
      return opened.status();
    }
    DIR* stream = ::fdopendir(opened->get());
    if (stream == nullptr) {
      return Internal("Cannot list artifacts in '" + normalized + "': " + ErrnoText(errno));
    }
    opened->release();  // Owned by `stream` now.
    while (dirent* item = ::readdir(stream)) {
      std::string name = item->d_name;
      if (name == "." || name == "..") continue;
      if (normalized.empty() && name == kSpool) continue;
      struct stat st;
      if (::fstatat(::dirfd(stream), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      // Links (and sockets, fifos, devices) are not artifacts: not listed.
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;
      ArtifactEntry entry;
      entry.path = normalized.empty() ? name : normalized + "/" + name;
      entry.is_dir = S_ISDIR(st.st_mode);
      if (!entry.is_dir) entry.file_size = static_cast<int64_t>(st.st_size);
      entries.push_back(std::move(entry));
    }
    ::closedir(stream);
    std::sort(entries.begin(), entries.end(),
              [](const ArtifactEntry& a, const ArtifactEntry& b) { return a.path < b.path; });
    return entries;
  }

  Status Delete(std::string_view path, const BeforeChange& before_change) override {
    ASSIGN_OR_RETURN(std::string normalized, Resolve(path, false));
    auto [parent, name] = SplitParent(normalized);
    StatusOr<Fd> dir = OpenDir(parent, /*create=*/false);
    if (!dir.ok()) {
      if (dir.status().code() == StatusCode::kNotFound) {
        return NotFound("No artifact at '" + normalized + "'");
      }
      return dir.status();
    }
    struct stat st;
    if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return NotFound("No artifact at '" + normalized + "'");
    }
    if (before_change) RETURN_IF_ERROR(before_change());
    if (!S_ISDIR(st.st_mode)) {
      // A file, or a link: the link itself goes, never what it points to.
      if (::unlinkat(dir->get(), name.c_str(), 0) != 0 && errno != ENOENT) {
        return Internal("Cannot delete artifact '" + normalized + "': " + ErrnoText(errno));
      }
      return Fsync(dir->get(), "the folder of '" + normalized + "'");
    }
    // A folder vanishes at once (renamed into the spool), then is emptied.
    ASSIGN_OR_RETURN(Fd spool, OpenSpool());
    std::string trash = "deleted-" + env_->RandomHex(8);
    if (::renameat(dir->get(), name.c_str(), spool.get(), trash.c_str()) != 0) {
      return Internal("Cannot delete artifact '" + normalized + "': " + ErrnoText(errno));
    }
    RETURN_IF_ERROR(Fsync(dir->get(), "the folder of '" + normalized + "'"));
    return RemoveTree(spool.get(), trash, normalized);
  }

 private:
  // The normalized path. Errors: InvalidArgument for escapes, the reserved
  // spool, and the root unless `allow_root`.
  StatusOr<std::string> Resolve(std::string_view path, bool allow_root) const {
    ASSIGN_OR_RETURN(std::string normalized, NormalizeArtifactPath(path));
    if (normalized.empty() && !allow_root) {
      return InvalidArgument("An artifact path is required (got an empty path).");
    }
    if (normalized == kSpool || normalized.rfind(std::string(kSpool) + "/", 0) == 0) {
      return InvalidArgument("Artifact path '" + normalized + "' is reserved.");
    }
    return normalized;
  }

  StatusOr<ArtifactKind> KindOf(const std::string& normalized) {
    if (normalized.empty()) return ArtifactKind::kDirectory;
    auto [parent, name] = SplitParent(normalized);
    StatusOr<Fd> dir = OpenDir(parent, /*create=*/false);
    if (!dir.ok()) {
      if (dir.status().code() == StatusCode::kNotFound) return ArtifactKind::kMissing;
      return dir.status();
    }
    struct stat st;
    if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ArtifactKind::kMissing;
    }
    if (S_ISLNK(st.st_mode)) return LinkRefused(normalized);
    if (S_ISDIR(st.st_mode)) return ArtifactKind::kDirectory;
    return S_ISREG(st.st_mode) ? ArtifactKind::kFile : ArtifactKind::kMissing;
  }

  // Opens folder `dir` ("" is the root) beneath the root without following
  // any link. With `create`, missing folders are made on the way. Errors:
  // NotFound when a folder is missing or is a file (without `create`);
  // InvalidArgument naming the path for a link, or (with `create`) for a file
  // where a folder is needed.
  StatusOr<Fd> OpenDir(const std::string& dir, bool create) {
    if (!create && !dir.empty() && use_openat2_ && Openat2Available()) {
      open_how how{};
      how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
      how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
      long fd = ::syscall(SYS_openat2, root_fd_.get(), dir.c_str(), &how, sizeof(how));
      if (fd >= 0) return Fd(static_cast<int>(fd));
      if (errno == ENOSYS || errno == EPERM) {
        // No openat2 here (an old kernel, or a seccomp filter that does not
        // know it): walking is as strict, one call per component.
        Openat2Missing();
      } else if (errno == ENOENT) {
        return NotFound("No artifact folder at '" + dir + "'");
      }
      // Anything else: the walk below says which component is at fault.
    }
    Fd current(::fcntl(root_fd_.get(), F_DUPFD_CLOEXEC, 0));
    if (!current.valid()) return Internal("Cannot open the artifact root: " + ErrnoText(errno));
    std::string walked;
    for (const std::string& component : Components(dir)) {
      walked += (walked.empty() ? "" : "/") + component;
      int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
      Fd next(::openat(current.get(), component.c_str(), flags));
      if (!next.valid() && errno == ENOENT && create) {
        if (::mkdirat(current.get(), component.c_str(), 0755) != 0 && errno != EEXIST) {
          return Internal("Cannot create artifact folder '" + walked + "': " + ErrnoText(errno));
        }
        next = Fd(::openat(current.get(), component.c_str(), flags));
      }
      if (!next.valid()) {
        int err = errno;
        struct stat st;
        bool exists = ::fstatat(current.get(), component.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (exists && S_ISLNK(st.st_mode)) return LinkRefused(dir);
        if (exists && !S_ISDIR(st.st_mode)) {
          if (!create) return NotFound("No artifact folder at '" + dir + "'");
          return InvalidArgument("Artifact path '" + walked +
                                 "' is a file, so nothing can be stored under it; choose "
                                 "another path or delete that file first.");
        }
        if (!exists) return NotFound("No artifact folder at '" + dir + "'");
        return Internal("Cannot open artifact folder '" + walked + "': " + ErrnoText(err));
      }
      current = std::move(next);
    }
    return current;
  }

  // The spool folder, made if missing; refused if something replaced it
  // with a link.
  StatusOr<Fd> OpenSpool() {
    ::mkdirat(root_fd_.get(), kSpool, 0755);
    Fd spool(::openat(root_fd_.get(), kSpool, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!spool.valid()) {
      return Internal(std::string("Cannot open the artifact spool folder: ") + ErrnoText(errno));
    }
    return spool;
  }

  Status CopyInto(int source, int dir, const std::string& temp, const std::string& shown) {
    Fd out(::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!out.valid()) {
      return Internal("Cannot store artifact '" + shown + "': " + ErrnoText(errno));
    }
    if (::lseek(source, 0, SEEK_SET) != 0) {
      return Internal("Cannot read the upload to '" + shown + "': " + ErrnoText(errno));
    }
    std::vector<char> buffer(1 << 20);
    while (true) {
      ssize_t n = ::read(source, buffer.data(), buffer.size());
      if (n == 0) break;
      if (n < 0) return Internal("Cannot read the upload to '" + shown + "': " + ErrnoText(errno));
      for (ssize_t done = 0; done < n;) {
        ssize_t w = ::write(out.get(), buffer.data() + done, static_cast<size_t>(n - done));
        if (w <= 0) return Internal("Cannot store artifact '" + shown + "': " + ErrnoText(errno));
        done += w;
      }
    }
    return Fsync(out.get(), "artifact '" + shown + "'");
  }

  static Status RenameError(const std::string& path, int err) {
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
      return InvalidArgument("Artifact path '" + path +
                             "' is a folder; upload a file inside it (e.g. '" + path +
                             "/<file name>').");
    }
    return Internal("Cannot store artifact '" + path + "': " + ErrnoText(err));
  }

  // Whether openat2 has not failed with ENOSYS yet (process-wide: the kernel
  // does not change under a running server).
  static std::atomic<bool>& Openat2Flag() {
    static std::atomic<bool> available{true};
    return available;
  }
  static bool Openat2Available() { return Openat2Flag().load(std::memory_order_relaxed); }
  static void Openat2Missing() { Openat2Flag().store(false, std::memory_order_relaxed); }

  fs::path root_;
  fs::path spool_;
  Fd root_fd_;  // Every path is opened beneath this descriptor.
  bool use_openat2_;
  Env* env_;
};

}  // namespace

StatusOr<std::unique_ptr<ArtifactStore>> OpenLocalArtifactStore(const std::string& root,
                                                                LocalArtifactStoreOptions options) {
  std::error_code ec;
  fs::path absolute = fs::absolute(root, ec).lexically_normal();
  fs::create_directories(absolute / kSpool, ec);
  if (ec) {
    return Unavailable("Cannot create artifact folder '" + absolute.string() +
                       "': " + ec.message());
  }
  Fd root_fd(::open(absolute.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) {
    return Unavailable("Cannot open artifact folder '" + absolute.string() +
                       "': " + ErrnoText(errno));
  }
  return std::unique_ptr<ArtifactStore>(
      std::make_unique<LocalArtifactStore>(absolute, std::move(root_fd), options));
}

void RegisterLocalArtifactStore(ArtifactStoreRegistry* registry, Env* env) {
  registry->Register("file", [env](const std::string& uri) {
    std::string path = uri.substr(std::string_view("file://").size());
    if (path.empty()) {
      return StatusOr<std::unique_ptr<ArtifactStore>>(
          InvalidArgument("--artifacts file:// needs a folder, e.g. file:///var/cairn/artifacts"));
    }
    return OpenLocalArtifactStore(path, {.env = env});
  });
}

}  // namespace cairn::artifacts
