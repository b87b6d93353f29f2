// FaultInjectionEnv: an Env that fails file operations on demand (LevelDB's
// db/fault_injection_test.cc), so tests can check that a failed write leaves
// what was stored intact and that errors reach the user with the path.
// Everything not failed is forwarded to the wrapped Env.
//
// Thread-safety: safe from any thread.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "core/env.h"
#include "core/mutex.h"

namespace cairn {

class FaultInjectionEnv : public EnvWrapper {
 public:
  explicit FaultInjectionEnv(Env* target) : EnvWrapper(target) {}

  enum class Operation {
    kRead,
    kWrite,
    kList,
    kCreateDirectory,
    kRemove,
    kRename,  // Matched on the source path.
    kSync,
    kLock,
    kStartThread,  // Matched on the thread's name.
  };

  // Operations of that kind on paths starting with `prefix` fail with
  // `error` (code kept; the message gains the path), after `after` more of
  // them succeed. Replaces an earlier rule for the same operation.
  void Fail(Operation operation, std::string prefix, Status error, int after = 0);
  // Removes every rule.
  void Heal();
  // How many operations failed so far.
  int failures() const { return failures_.load(); }

  StatusOr<std::string> ReadFile(const std::string& path, uint64_t max_bytes) override;
  Status WriteFileAtomically(const std::string& path, std::string_view contents, int mode) override;
  StatusOr<std::vector<std::string>> ListDirectory(const std::string& path) override;
  Status CreateDirectories(const std::string& path) override;
  Status RemoveFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status SyncPath(const std::string& path) override;
  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path, LockMode mode,
                                               bool wait) override;
  StatusOr<std::unique_ptr<Thread>> StartThread(const std::string& name,
                                                std::function<void()> fn) override;

 private:
  struct Rule {
    bool active = false;
    std::string prefix;
    Status error;
    int after = 0;
  };
  // The injected error for `operation` on `path`, or OK.
  Status Check(Operation operation, const std::string& path);

  Mutex mu_;
  Rule rules_[static_cast<int>(Operation::kStartThread) + 1] GUARDED_BY(mu_);  // By Operation.
  std::atomic<int> failures_{0};
};

}  // namespace cairn
