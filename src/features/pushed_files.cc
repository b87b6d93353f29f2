#include "features/pushed_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace cairn::features {
namespace {

namespace fs = std::filesystem;

constexpr char kLockName[] = ".lock";
constexpr char kNoteSuffix[] = ".replaces";       // "." + merged file name + suffix
constexpr char kTemporaryPrefix[] = ".compact-";  // a compaction's unfinished files

// An open lock file; closing it releases its flock.
class LockFile {
 public:
  explicit LockFile(int fd) : fd_(fd) {}
  ~LockFile() { ::close(fd_); }
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

 private:
  int fd_;
};

// Opens <dir>/.lock and takes it (`how`: LOCK_SH or LOCK_EX, maybe | LOCK_NB).
// Returns null when LOCK_NB was asked and someone else holds it.
StatusOr<std::shared_ptr<LockFile>> Lock(const std::string& dir, int how) {
  std::string path = (fs::path(dir) / kLockName).string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Unavailable("cannot open " + path + ": " + std::strerror(errno) +
                       " (is the data directory writable?)");
  }
  int rc;
  do {
    rc = ::flock(fd, how);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) return std::shared_ptr<LockFile>();
    return Unavailable("cannot lock " + path + ": " + std::strerror(error));
  }
  return std::make_shared<LockFile>(fd);
}

bool SyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced;
}

struct Listing {
  std::vector<std::string> parquet;  // names, sorted: push order
  std::vector<std::string> notes;    // names of compaction notes
  std::vector<std::string> temporary;
};

Listing List(const std::string& dir) {
  Listing out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.starts_with(kTemporaryPrefix)) {
      out.temporary.push_back(name);
    } else if (name.starts_with(".") && name.ends_with(kNoteSuffix)) {
      out.notes.push_back(name);
    } else if (!name.starts_with(".") && name.ends_with(".parquet")) {
      out.parquet.push_back(name);
    }
  }
  std::sort(out.parquet.begin(), out.parquet.end());
  return out;
}

// The merged file a note stands for: ".<merged>.replaces" -> "<merged>".
std::string NoteTarget(const std::string& note) {
  return note.substr(1, note.size() - 1 - std::strlen(kNoteSuffix));
}

std::vector<std::string> ReadNote(const std::string& path) {
  std::vector<std::string> names;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

// Files a published merge replaces but a crash left behind.
std::set<std::string> Replaced(const std::string& dir, const Listing& listing) {
  std::set<std::string> replaced;
  for (const std::string& note : listing.notes) {
    if (!std::binary_search(listing.parquet.begin(), listing.parquet.end(), NoteTarget(note))) {
      continue;  // the merge was never published: its inputs are live
    }
    for (std::string& name : ReadNote((fs::path(dir) / note).string())) {
      replaced.insert(std::move(name));
    }
  }
  return replaced;
}

// Finishes or forgets what an interrupted compaction left. REQUIRES: the
// exclusive lock.
Status Recover(const std::string& dir, const Listing& listing) {
  std::error_code ec;
  bool changed = false;
  for (const std::string& note : listing.notes) {
    fs::path note_path = fs::path(dir) / note;
    if (std::binary_search(listing.parquet.begin(), listing.parquet.end(), NoteTarget(note))) {
      for (const std::string& name : ReadNote(note_path.string())) {
        fs::remove(fs::path(dir) / name, ec);
        if (ec) return Unavailable("cannot remove " + name + " in " + dir + ": " + ec.message());
      }
      if (!SyncPath(dir)) return Unavailable("cannot sync " + dir);
    }
    fs::remove(note_path, ec);
    changed = true;
  }
  for (const std::string& name : listing.temporary) {
    fs::remove(fs::path(dir) / name, ec);
    changed = true;
  }
  if (changed && !SyncPath(dir)) return Unavailable("cannot sync " + dir);
  return Status::Ok();
}

// "<micros>-<hex>[-c<hex>].parquet" -> "<micros>-<hex>": a merged file is
// named after its first input, so it sorts just before it.
std::string MergedName(const std::string& first_input, Env* env) {
  std::string stem = first_input.substr(0, first_input.size() - std::strlen(".parquet"));
  size_t merged = stem.find("-c");
  if (merged != std::string::npos) stem.resize(merged);
  return stem + "-c" + env->RandomHex(8) + ".parquet";
}

}  // namespace

StatusOr<PushedFiles> SnapshotPushedFiles(const std::string& dir) {
  PushedFiles files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  ASSIGN_OR_RETURN(std::shared_ptr<LockFile> lock, Lock(dir, LOCK_SH));
  Listing listing = List(dir);
  std::set<std::string> replaced = Replaced(dir, listing);
  for (const std::string& name : listing.parquet) {
    if (!replaced.contains(name)) files.paths.push_back((fs::path(dir) / name).string());
  }
  files.read_lock = std::move(lock);
  return files;
}

StatusOr<size_t> CompactPushedFiles(offline::Engine& engine, const std::string& dir, Env* env,
                                    const CompactionOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return size_t{0};
  ASSIGN_OR_RETURN(std::shared_ptr<LockFile> lock, Lock(dir, LOCK_EX | LOCK_NB));
  if (lock == nullptr) return size_t{0};  // a reader holds a snapshot: next push
  RETURN_IF_ERROR(Recover(dir, List(dir)));

  // The newest run of small files (older ones sit behind a large file and
  // stay: merging around it would reorder rows).
  Listing listing = List(dir);
  size_t first = listing.parquet.size();
  while (first > 0) {
    uint64_t size = fs::file_size(fs::path(dir) / listing.parquet[first - 1], ec);
    if (ec || size >= options.small_file_bytes) break;
    --first;
  }
  std::vector<std::string> inputs(listing.parquet.begin() + static_cast<ptrdiff_t>(first),
                                  listing.parquet.end());
  if (inputs.size() < std::max<size_t>(options.min_files, 2)) return size_t{0};

  std::string merged = MergedName(inputs.front(), env);
  fs::path temporary = fs::path(dir) / (kTemporaryPrefix + env->RandomHex(8) + ".tmp");
  std::string list;
  for (const std::string& name : inputs) {
    list += (list.empty() ? "" : ", ") + offline::QuoteLiteral((fs::path(dir) / name).string());
  }
  auto abandon = [&](const std::string& why) {
    fs::remove(temporary, ec);
    return Unavailable("cannot compact the pushed rows in " + dir + ": " + why);
  };
  Status copied =
      engine.Execute("COPY (SELECT * FROM read_parquet([" + list + "], union_by_name = true)) TO " +
                     offline::QuoteLiteral(temporary.string()) + " (FORMAT parquet)");
  if (!copied.ok()) return abandon(copied.message());
  if (!SyncPath(temporary.string())) return abandon("cannot sync the merged file");

  // The note first, so a crash at any later point leaves every row once.
  fs::path note = fs::path(dir) / ("." + merged + kNoteSuffix);
  fs::path note_temporary = fs::path(dir) / (kTemporaryPrefix + env->RandomHex(8) + ".note");
  {
    std::ofstream out(note_temporary);
    for (const std::string& name : inputs) out << name << '\n';
    out.close();
    if (!out) return abandon("cannot write " + note_temporary.string());
  }
  if (!SyncPath(note_temporary.string())) return abandon("cannot sync the compaction note");
  fs::rename(note_temporary, note, ec);
  if (ec || !SyncPath(dir)) return abandon("cannot publish the compaction note");
  fs::rename(temporary, fs::path(dir) / merged, ec);
  if (ec) {
    fs::remove(note, ec);
    return abandon("cannot publish the merged file");
  }
  if (!SyncPath(dir)) return Unavailable("cannot sync " + dir + " after a compaction");
  for (const std::string& name : inputs) {
    fs::remove(fs::path(dir) / name, ec);
    if (ec) return Unavailable("cannot remove " + name + " in " + dir + ": " + ec.message());
  }
  if (!SyncPath(dir)) return Unavailable("cannot sync " + dir + " after a compaction");
  fs::remove(note, ec);
  return inputs.size();
}

}  // namespace cairn::features
