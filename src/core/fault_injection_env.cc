#include "core/fault_injection_env.h"

namespace cairn {

void FaultInjectionEnv::Fail(Operation operation, std::string prefix, Status error, int after) {
  MutexLock lock(&mu_);
  rules_[static_cast<int>(operation)] = Rule{true, std::move(prefix), std::move(error), after};
}

void FaultInjectionEnv::Heal() {
  MutexLock lock(&mu_);
  for (Rule& rule : rules_) rule = Rule{};
}

Status FaultInjectionEnv::Check(Operation operation, const std::string& path) {
  MutexLock lock(&mu_);
  Rule& rule = rules_[static_cast<int>(operation)];
  if (!rule.active || path.compare(0, rule.prefix.size(), rule.prefix) != 0) return Status::Ok();
  if (rule.after > 0) {
    --rule.after;
    return Status::Ok();
  }
  failures_.fetch_add(1);
  return Status(rule.error.code(), rule.error.message() + " (injected, " + path + ")");
}

StatusOr<std::string> FaultInjectionEnv::ReadFile(const std::string& path, uint64_t max_bytes) {
  RETURN_IF_ERROR(Check(Operation::kRead, path));
  return EnvWrapper::ReadFile(path, max_bytes);
}

Status FaultInjectionEnv::WriteFileAtomically(const std::string& path, std::string_view contents,
                                              int mode) {
  RETURN_IF_ERROR(Check(Operation::kWrite, path));
  return EnvWrapper::WriteFileAtomically(path, contents, mode);
}

StatusOr<std::vector<std::string>> FaultInjectionEnv::ListDirectory(const std::string& path) {
  RETURN_IF_ERROR(Check(Operation::kList, path));
  return EnvWrapper::ListDirectory(path);
}

Status FaultInjectionEnv::CreateDirectories(const std::string& path) {
  RETURN_IF_ERROR(Check(Operation::kCreateDirectory, path));
  return EnvWrapper::CreateDirectories(path);
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  RETURN_IF_ERROR(Check(Operation::kRemove, path));
  return EnvWrapper::RemoveFile(path);
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  RETURN_IF_ERROR(Check(Operation::kRename, from));
  return EnvWrapper::RenameFile(from, to);
}

Status FaultInjectionEnv::SyncPath(const std::string& path) {
  RETURN_IF_ERROR(Check(Operation::kSync, path));
  return EnvWrapper::SyncPath(path);
}

StatusOr<std::unique_ptr<FileLock>> FaultInjectionEnv::LockFile(const std::string& path,
                                                                LockMode mode, bool wait) {
  RETURN_IF_ERROR(Check(Operation::kLock, path));
  return EnvWrapper::LockFile(path, mode, wait);
}

StatusOr<std::unique_ptr<Thread>> FaultInjectionEnv::StartThread(const std::string& name,
                                                                 std::function<void()> fn) {
  RETURN_IF_ERROR(Check(Operation::kStartThread, name));
  return EnvWrapper::StartThread(name, std::move(fn));
}

}  // namespace cairn
