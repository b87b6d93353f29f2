#include "core/mem_env.h"

#include <algorithm>
#include <vector>

namespace cairn {

std::string MemEnv::Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

StatusOr<std::string> MemEnv::ReadFile(const std::string& path, uint64_t max_bytes) {
  MutexLock lock(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (directories_.contains(path)) {
      return InvalidArgument("cannot read " + path + ": not a regular file (a folder)");
    }
    return NotFound("cannot read " + path + ": No such file or directory");
  }
  if (it->second.contents.size() > max_bytes) {
    return ResourceExhausted("cannot read " + path + ": " +
                             std::to_string(it->second.contents.size()) +
                             " bytes is over the limit of " + std::to_string(max_bytes));
  }
  return it->second.contents;
}

Status MemEnv::WriteFileAtomically(const std::string& path, std::string_view contents, int mode) {
  int64_t now = NowMicros();
  MutexLock lock(&mu_);
  std::string parent = Parent(path);
  if (!directories_.contains(parent)) {
    return NotFound("cannot write " + path + ": No such file or directory");
  }
  if (directories_.contains(path)) return Unavailable("cannot write " + path + ": a folder");
  files_[path] = File{std::string(contents), mode, now};
  directories_[parent] = now;
  return Status::Ok();
}

StatusOr<std::vector<std::string>> MemEnv::ListDirectory(const std::string& path) {
  MutexLock lock(&mu_);
  if (!directories_.contains(path)) {
    return NotFound("cannot list " + path + ": No such file or directory");
  }
  std::vector<std::string> names;
  std::string prefix = path == "/" ? "/" : path + "/";
  auto collect = [&](const std::string& entry) {
    if (entry.size() > prefix.size() && entry.compare(0, prefix.size(), prefix) == 0 &&
        entry.find('/', prefix.size()) == std::string::npos) {
      names.push_back(entry.substr(prefix.size()));
    }
  };
  for (const auto& [name, file] : files_) collect(name);
  for (const auto& [name, modified] : directories_) collect(name);
  std::sort(names.begin(), names.end());
  return names;
}

StatusOr<FileInfo> MemEnv::Stat(const std::string& path) {
  MutexLock lock(&mu_);
  FileInfo info;
  if (auto it = files_.find(path); it != files_.end()) {
    info.exists = true;
    info.size = it->second.contents.size();
    info.modified_micros = it->second.modified_micros;
  } else if (auto dir = directories_.find(path); dir != directories_.end()) {
    info.exists = true;
    info.is_directory = true;
    info.modified_micros = dir->second;
  }
  return info;
}

Status MemEnv::CreateDirectories(const std::string& path) {
  int64_t now = NowMicros();
  MutexLock lock(&mu_);
  std::vector<std::string> missing;
  for (std::string at = path; at != "/" && at != "." && !directories_.contains(at);
       at = Parent(at)) {
    if (files_.contains(at)) {
      return Unavailable("cannot create the folder " + path + ": " + at + " is a file");
    }
    missing.push_back(at);
  }
  for (const std::string& dir : missing) directories_.emplace(dir, now);
  return Status::Ok();
}

Status MemEnv::RemoveFile(const std::string& path) {
  MutexLock lock(&mu_);
  if (files_.erase(path) > 0) return Status::Ok();
  if (directories_.contains(path)) {
    std::string prefix = path + "/";
    auto inside = [&](const auto& map) {
      auto it = map.lower_bound(prefix);
      return it != map.end() && it->first.compare(0, prefix.size(), prefix) == 0;
    };
    if (inside(files_) || inside(directories_)) {
      return Unavailable("cannot remove " + path + ": Directory not empty");
    }
    directories_.erase(path);
  }
  return Status::Ok();
}

Status MemEnv::RenameFile(const std::string& from, const std::string& to) {
  int64_t now = NowMicros();
  MutexLock lock(&mu_);
  auto it = files_.find(from);
  if (it == files_.end()) {
    return NotFound("cannot rename " + from + " to " + to + ": No such file or directory");
  }
  if (!directories_.contains(Parent(to))) {
    return NotFound("cannot rename " + from + " to " + to + ": No such file or directory");
  }
  if (directories_.contains(to))
    return Unavailable("cannot rename " + from + " to " + to + ": a folder");
  File file = std::move(it->second);
  files_.erase(it);
  files_[to] = std::move(file);
  directories_[Parent(from)] = now;
  directories_[Parent(to)] = now;
  return Status::Ok();
}

Status MemEnv::SyncPath(const std::string& path) {
  MutexLock lock(&mu_);
  if (!files_.contains(path) && !directories_.contains(path)) {
    return NotFound("cannot sync " + path + ": No such file or directory");
  }
  return Status::Ok();
}

class MemEnv::MemFileLock : public FileLock {
 public:
  MemFileLock(MemEnv* env, std::string path, LockMode mode)
      : env_(env), path_(std::move(path)), mode_(mode) {}
  ~MemFileLock() override { env_->Unlock(path_, mode_); }

 private:
  MemEnv* const env_;
  const std::string path_;
  const LockMode mode_;
};

StatusOr<std::unique_ptr<FileLock>> MemEnv::LockFile(const std::string& path, LockMode mode,
                                                     bool wait) {
  int64_t now = NowMicros();
  MutexLock lock(&mu_);
  if (!files_.contains(path)) {
    if (!directories_.contains(Parent(path))) {
      return NotFound("cannot open the lock file " + path + ": No such file or directory");
    }
    files_[path] = File{"", 0644, now};
  }
  for (;;) {
    LockState& state = locks_[path];
    bool free =
        mode == LockMode::kShared ? !state.exclusive : !state.exclusive && state.shared == 0;
    if (free) {
      if (mode == LockMode::kShared) {
        ++state.shared;
      } else {
        state.exclusive = true;
      }
      return std::unique_ptr<FileLock>(std::make_unique<MemFileLock>(this, path, mode));
    }
    if (!wait) return std::unique_ptr<FileLock>();
    unlocked_.Wait();
  }
}

void MemEnv::Unlock(const std::string& path, LockMode mode) {
  {
    MutexLock lock(&mu_);
    LockState& state = locks_[path];
    if (mode == LockMode::kShared) {
      --state.shared;
    } else {
      state.exclusive = false;
    }
  }
  unlocked_.SignalAll();
}

int MemEnv::ModeForTest(const std::string& path) {
  MutexLock lock(&mu_);
  auto it = files_.find(path);
  return it == files_.end() ? 0 : it->second.mode;
}

}  // namespace cairn
