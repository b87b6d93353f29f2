#include "artifacts/local/local_artifact_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/env.h"

namespace cairn::artifacts {
namespace {

namespace fs = std::filesystem;

Status FsError(std::string_view what, const fs::path& p, const std::error_code& ec) {
  return Internal(std::string(what) + " '" + p.string() + "': " + ec.message());
}

// fsync a file or directory by path; failures here mean durability is not
// guaranteed, so they are reported.
Status SyncPath(const fs::path& p, bool directory) {
  int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return Internal("Cannot open '" + p.string() + "' to sync it");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Internal("Cannot fsync '" + p.string() + "'");
  return Status::Ok();
}

class LocalArtifactStore : public ArtifactStore {
 public:
  explicit LocalArtifactStore(fs::path root) : root_(std::move(root)), spool_(root_ / ".spool") {}

  std::string uri() const override { return "file://" + root_.string(); }
  std::string SpoolDir() const override { return spool_.string(); }

  Status PutFile(std::string_view path, const std::string& source_file) override {
    ASSIGN_OR_RETURN(fs::path target, Resolve(path, /*allow_root=*/false));
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return FsError("Cannot create artifact folder", target.parent_path(), ec);
    RETURN_IF_ERROR(SyncPath(source_file, false));
    fs::rename(source_file, target, ec);
    if (ec) {
      // Different filesystem: copy to a temp file beside the target, then rename.
      fs::path temp = target.string() + ".tmp-" + Env::Default()->RandomHex(6);
      fs::copy_file(source_file, temp, fs::copy_options::overwrite_existing, ec);
      if (ec) return FsError("Cannot store artifact", target, ec);
      RETURN_IF_ERROR(SyncPath(temp, false));
      fs::rename(temp, target, ec);
      if (ec) return FsError("Cannot store artifact", target, ec);
      fs::remove(source_file, ec);
    }
    return SyncPath(target.parent_path(), true);
  }

  Status PutBytes(std::string_view path, std::string_view data) override {
    std::error_code ec;
    fs::create_directories(spool_, ec);
    if (ec) return FsError("Cannot create spool folder", spool_, ec);
    fs::path temp = spool_ / ("bytes-" + Env::Default()->RandomHex(8));
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return Internal("Cannot create '" + temp.string() + "'");
    size_t written = 0;
    while (written < data.size()) {
      ssize_t n = ::write(fd, data.data() + written, data.size() - written);
      if (n <= 0) {
        ::close(fd);
        fs::remove(temp, ec);
        return Internal("Cannot write '" + temp.string() + "'");
      }
      written += static_cast<size_t>(n);
    }
    ::close(fd);
    Status put = PutFile(path, temp.string());
    if (!put.ok()) fs::remove(temp, ec);
    return put;
  }

  StatusOr<std::string> LocalFile(std::string_view path) override {
    ASSIGN_OR_RETURN(fs::path target, Resolve(path, false));
    std::error_code ec;
    if (!fs::is_regular_file(target, ec)) {
      return NotFound("No artifact file at '" + std::string(path) + "'");
    }
    return target.string();
  }

  StatusOr<ArtifactKind> Kind(std::string_view path) override {
    ASSIGN_OR_RETURN(fs::path target, Resolve(path, true));
    std::error_code ec;
    auto status = fs::status(target, ec);
    if (ec || !fs::exists(status)) return ArtifactKind::kMissing;
    return fs::is_directory(status) ? ArtifactKind::kDirectory : ArtifactKind::kFile;
  }

  StatusOr<std::vector<ArtifactEntry>> List(std::string_view dir) override {
    ASSIGN_OR_RETURN(std::string normalized, NormalizeArtifactPath(dir));
    ASSIGN_OR_RETURN(fs::path target, Resolve(normalized, true));
    std::vector<ArtifactEntry> entries;
    std::error_code ec;
    if (!fs::is_directory(target, ec)) return entries;
    for (const auto& item : fs::directory_iterator(target, ec)) {
      std::string name = item.path().filename().string();
      if (normalized.empty() && name == ".spool") continue;
      ArtifactEntry entry;
      entry.path = normalized.empty() ? name : normalized + "/" + name;
      entry.is_dir = item.is_directory(ec);
      if (!entry.is_dir) entry.file_size = static_cast<int64_t>(item.file_size(ec));
      entries.push_back(std::move(entry));
    }
    if (ec) return FsError("Cannot list artifacts in", target, ec);
    std::sort(entries.begin(), entries.end(),
              [](const ArtifactEntry& a, const ArtifactEntry& b) { return a.path < b.path; });
    return entries;
  }

  Status Delete(std::string_view path) override {
    ASSIGN_OR_RETURN(fs::path target, Resolve(path, false));
    std::error_code ec;
    if (!fs::exists(target, ec)) return NotFound("No artifact at '" + std::string(path) + "'");
    fs::remove_all(target, ec);
    if (ec) return FsError("Cannot delete artifact", target, ec);
    return Status::Ok();
  }

 private:
  StatusOr<fs::path> Resolve(std::string_view path, bool allow_root) {
    ASSIGN_OR_RETURN(std::string normalized, NormalizeArtifactPath(path));
    if (normalized.empty() && !allow_root) {
      return InvalidArgument("An artifact path is required (got an empty path).");
    }
    if (normalized == ".spool" || normalized.rfind(".spool/", 0) == 0) {
      return InvalidArgument("Artifact path '" + normalized + "' is reserved.");
    }
    return normalized.empty() ? root_ : root_ / normalized;
  }

  fs::path root_;
  fs::path spool_;
};

}  // namespace

StatusOr<std::unique_ptr<ArtifactStore>> OpenLocalArtifactStore(const std::string& root) {
  std::error_code ec;
  fs::path absolute = fs::absolute(root, ec);
  fs::create_directories(absolute / ".spool", ec);
  if (ec) {
    return Unavailable("Cannot create artifact folder '" + absolute.string() +
                       "': " + ec.message());
  }
  return std::unique_ptr<ArtifactStore>(
      std::make_unique<LocalArtifactStore>(absolute.lexically_normal()));
}

void RegisterLocalArtifactStore(ArtifactStoreRegistry* registry) {
  registry->Register("file", [](const std::string& uri) {
    std::string path = uri.substr(std::string_view("file://").size());
    if (path.empty()) {
      return StatusOr<std::unique_ptr<ArtifactStore>>(
          InvalidArgument("--artifacts file:// needs a folder, e.g. file:///var/cairn/artifacts"));
    }
    return OpenLocalArtifactStore(path);
  });
}

}  // namespace cairn::artifacts
