// MemEnv: an Env whose files live in memory (LevelDB's helpers/memenv), for
// unit tests of code that reads and writes files: no temporary folders, no
// cleanup, and a test can look at exactly what was written. Clock,
// randomness and processes come from the wrapped Env (a FakeEnv, usually).
// Paths are taken as given: absolute, '/'-separated, no symlinks, "." or "..".
//
// Thread-safety: safe from any thread.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "core/env.h"
#include "core/mutex.h"

namespace cairn {

class MemEnv : public EnvWrapper {
 public:
  // `base` (clock, randomness, processes) must outlive this.
  explicit MemEnv(Env* base) : EnvWrapper(base) { directories_.emplace("/", 0); }

  StatusOr<std::string> ReadFile(const std::string& path, uint64_t max_bytes) override;
  Status WriteFileAtomically(const std::string& path, std::string_view contents, int mode) override;
  StatusOr<std::vector<std::string>> ListDirectory(const std::string& path) override;
  StatusOr<FileInfo> Stat(const std::string& path) override;
  Status CreateDirectories(const std::string& path) override;
  Status RemoveFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status SyncPath(const std::string& path) override;
  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path, LockMode mode,
                                               bool wait) override;

  // The mode a file was written with (0 when there is no such file).
  int ModeForTest(const std::string& path);

 private:
  struct File {
    std::string contents;
    int mode = 0644;
    int64_t modified_micros = 0;
  };
  struct LockState {
    int shared = 0;
    bool exclusive = false;
  };
  class MemFileLock;
  static std::string Parent(const std::string& path);
  void Unlock(const std::string& path, LockMode mode);

  Mutex mu_;
  std::map<std::string, File> files_ GUARDED_BY(mu_);
  std::map<std::string, int64_t> directories_ GUARDED_BY(mu_);  // Path -> modified.
  std::map<std::string, LockState> locks_ GUARDED_BY(mu_);
  CondVar unlocked_{&mu_};
};

}  // namespace cairn
