// ArtifactStore: where run and model files live. Backends are chosen by URI
// scheme: file:///dir (local filesystem, the default under --data-dir); s3://
// comes later.
//
// Paths are relative and '/'-separated; NormalizeArtifactPath() is the one
// gate that refuses absolute paths, "..", and other escapes, and every
// backend calls it. Writes are atomic: a reader sees the old file or the
// new one, never a partial one.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/scheme_registry.h"
#include "core/status.h"

namespace cairn::artifacts {

struct ArtifactEntry {
  std::string path;  // Relative to the store root.
  bool is_dir = false;
  int64_t file_size = 0;  // Files only.
};

enum class ArtifactKind { kMissing, kFile, kDirectory };

// Returns `path` with redundant '/' and '.' segments removed, or
// InvalidArgument if it is absolute, contains "..", a backslash, or a NUL.
// An empty path (the root) is allowed.
StatusOr<std::string> NormalizeArtifactPath(std::string_view path);

// Maps an artifact URI served by this server ("mlflow-artifacts:/0/<run>/
// artifacts", "mlflow-artifacts://host/0/...") to a path in the artifact
// store. Errors: InvalidArgument for other schemes or escaping paths.
StatusOr<std::string> ServedArtifactPath(const std::string& artifact_uri);

// Called by a change once it is ready and just before it is applied (the
// final rename of an upload, the removal of a delete); the change goes ahead
// only if it returns OK, else its error is returned and nothing changes. A
// caller commits its record of the change here (the audit log), so a change
// is never made without its record. May be empty.
using BeforeChange = std::function<Status()>;

class ArtifactStore {
 public:
  virtual ~ArtifactStore() = default;
  virtual std::string uri() const = 0;

  // Stores the file at `source_file` as `path`, replacing the file that was
  // there. The source is consumed (renamed where possible, else copied and
  // removed). Errors: InvalidArgument naming the path when `path` is a
  // folder, lies under a file, or passes through a link the backend does not
  // follow; the error of `before_change`.
  virtual Status PutFile(std::string_view path, const std::string& source_file,
                         const BeforeChange& before_change) = 0;
  virtual Status PutBytes(std::string_view path, std::string_view data) = 0;

  // A local file with the artifact's bytes, to stream to a client.
  // Errors: NotFound if `path` is missing or a directory.
  virtual StatusOr<std::string> LocalFile(std::string_view path) = 0;

  virtual StatusOr<ArtifactKind> Kind(std::string_view path) = 0;

  // Immediate children of directory `dir`, sorted by path.
  // A missing directory lists as empty.
  virtual StatusOr<std::vector<ArtifactEntry>> List(std::string_view dir) = 0;

  // Removes a file or a whole directory. Missing paths are NotFound; the
  // error of `before_change` leaves everything in place.
  virtual Status Delete(std::string_view path, const BeforeChange& before_change) = 0;

  // A folder on the same filesystem as the store, for spooling uploads so
  // that PutFile() is a rename.
  virtual std::string SpoolDir() const = 0;
};

class ArtifactStoreRegistry : public SchemeRegistry<ArtifactStore> {
 public:
  ArtifactStoreRegistry() : SchemeRegistry("--artifacts") {}
};

}  // namespace cairn::artifacts
