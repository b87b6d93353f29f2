#include "features/pushed_files.h"

#include <algorithm>
#include <cstring>
#include <set>

namespace cairn::features {
namespace {

constexpr char kLockName[] = ".lock";
constexpr char kNoteSuffix[] = ".replaces";       // "." + merged file name + suffix
constexpr char kTemporaryPrefix[] = ".compact-";  // a compaction's unfinished merged file
// What a note's atomic write leaves when it is interrupted.
constexpr char kNoteTemporaryInfix[] = ".replaces.tmp-";

std::string Join(const std::string& dir, const std::string& name) { return dir + "/" + name; }

// Takes <dir>/.lock. Returns null when `wait` is false and someone holds it.
StatusOr<std::unique_ptr<FileLock>> Lock(Env* env, const std::string& dir, LockMode mode,
                                         bool wait) {
  StatusOr<std::unique_ptr<FileLock>> lock = env->LockFile(Join(dir, kLockName), mode, wait);
  if (!lock.ok()) {
    return Status(lock.status().code(),
                  lock.status().message() + " (is the data directory writable?)");
  }
  return lock;
}

struct Listing {
  std::vector<std::string> parquet;  // names, sorted: push order
  std::vector<std::string> notes;    // names of compaction notes
  std::vector<std::string> temporary;
};

StatusOr<Listing> List(Env* env, const std::string& dir) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDirectory(dir));
  Listing out;
  for (std::string& name : names) {  // sorted by ListDirectory
    if (name.starts_with(kTemporaryPrefix) ||
        (name.starts_with(".") && name.find(kNoteTemporaryInfix) != std::string::npos)) {
      out.temporary.push_back(std::move(name));
    } else if (name.starts_with(".") && name.ends_with(kNoteSuffix)) {
      out.notes.push_back(std::move(name));
    } else if (!name.starts_with(".") && name.ends_with(".parquet")) {
      out.parquet.push_back(std::move(name));
    }
  }
  return out;
}

// The merged file a note stands for: ".<merged>.replaces" -> "<merged>".
std::string NoteTarget(const std::string& note) {
  return note.substr(1, note.size() - 1 - std::strlen(kNoteSuffix));
}

StatusOr<std::vector<std::string>> ReadNote(Env* env, const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
  std::vector<std::string> names;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = std::min(text.find('\n', start), text.size());
    if (end > start) names.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return names;
}

bool Published(const Listing& listing, const std::string& note) {
  return std::binary_search(listing.parquet.begin(), listing.parquet.end(), NoteTarget(note));
}

// Files a published merge replaces but a crash left behind.
StatusOr<std::set<std::string>> Replaced(Env* env, const std::string& dir, const Listing& listing) {
  std::set<std::string> replaced;
  for (const std::string& note : listing.notes) {
    if (!Published(listing, note)) continue;  // never published: its inputs are live
    ASSIGN_OR_RETURN(std::vector<std::string> names, ReadNote(env, Join(dir, note)));
    for (std::string& name : names) replaced.insert(std::move(name));
  }
  return replaced;
}

// Finishes or forgets what an interrupted compaction left. REQUIRES: the
// exclusive lock.
Status Recover(Env* env, const std::string& dir, const Listing& listing) {
  bool changed = false;
  for (const std::string& note : listing.notes) {
    if (Published(listing, note)) {
      ASSIGN_OR_RETURN(std::vector<std::string> names, ReadNote(env, Join(dir, note)));
      for (const std::string& name : names) RETURN_IF_ERROR(env->RemoveFile(Join(dir, name)));
      RETURN_IF_ERROR(env->SyncPath(dir));
    }
    RETURN_IF_ERROR(env->RemoveFile(Join(dir, note)));
    changed = true;
  }
  for (const std::string& name : listing.temporary) {
    RETURN_IF_ERROR(env->RemoveFile(Join(dir, name)));
    changed = true;
  }
  if (changed) RETURN_IF_ERROR(env->SyncPath(dir));
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

StatusOr<bool> IsDirectory(Env* env, const std::string& dir) {
  ASSIGN_OR_RETURN(FileInfo info, env->Stat(dir));
  return info.is_directory;
}

// Merges `inputs` (names in `dir`, push order) into one file and removes
// them, so that a failure or crash at any step leaves every row once.
// REQUIRES: the exclusive lock.
Status Merge(offline::Engine& engine, Env* env, const std::string& dir,
             const std::vector<std::string>& inputs) {
  std::string merged = MergedName(inputs.front(), env);
  std::string temporary = Join(dir, kTemporaryPrefix + env->RandomHex(8) + ".tmp");
  std::string list;
  for (const std::string& name : inputs) {
    list += (list.empty() ? "" : ", ") + offline::QuoteLiteral(Join(dir, name));
  }
  auto abandon = [&](const Status& why) {
    (void)env->RemoveFile(temporary);
    return Unavailable("cannot compact the pushed rows in " + dir + ": " + why.message());
  };
  // DuckDB writes the file itself: this step needs the real file system.
  Status copied =
      engine.Execute("COPY (SELECT * FROM read_parquet([" + list + "], union_by_name = true)) TO " +
                     offline::QuoteLiteral(temporary) + " (FORMAT parquet)");
  if (!copied.ok()) return abandon(copied);
  if (Status synced = env->SyncPath(temporary); !synced.ok()) return abandon(synced);

  // The note first, so a crash at any later point leaves every row once.
  std::string note = Join(dir, "." + merged + kNoteSuffix);
  std::string names;
  for (const std::string& name : inputs) names += name + "\n";
  if (Status written = env->WriteFileAtomically(note, names); !written.ok()) {
    return abandon(written);
  }
  if (Status published = env->RenameFile(temporary, Join(dir, merged)); !published.ok()) {
    (void)env->RemoveFile(note);
    return abandon(published);
  }
  // From here the merged file is live and the note hides its inputs; a
  // failure leaves that state, which readers and the next Recover handle.
  RETURN_IF_ERROR(env->SyncPath(dir));
  for (const std::string& name : inputs) RETURN_IF_ERROR(env->RemoveFile(Join(dir, name)));
  RETURN_IF_ERROR(env->SyncPath(dir));
  return env->RemoveFile(note);
}

}  // namespace

StatusOr<PushedFiles> SnapshotPushedFiles(const std::string& dir, Env* env) {
  PushedFiles files;
  ASSIGN_OR_RETURN(bool exists, IsDirectory(env, dir));
  if (!exists) return files;
  ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, Lock(env, dir, LockMode::kShared, true));
  ASSIGN_OR_RETURN(Listing listing, List(env, dir));
  ASSIGN_OR_RETURN(std::set<std::string> replaced, Replaced(env, dir, listing));
  for (const std::string& name : listing.parquet) {
    if (!replaced.contains(name)) files.paths.push_back(Join(dir, name));
  }
  files.read_lock = std::shared_ptr<FileLock>(std::move(lock));
  return files;
}

StatusOr<size_t> CompactPushedFiles(offline::Engine& engine, const std::string& dir, Env* env,
                                    const CompactionOptions& options) {
  ASSIGN_OR_RETURN(bool exists, IsDirectory(env, dir));
  if (!exists) return size_t{0};
  ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, Lock(env, dir, LockMode::kExclusive, false));
  if (lock == nullptr) return size_t{0};  // a reader holds a snapshot: next push
  ASSIGN_OR_RETURN(Listing leftovers, List(env, dir));
  RETURN_IF_ERROR(Recover(env, dir, leftovers));

  // The newest run of small files (older ones sit behind a large file and
  // stay: merging around it would reorder rows).
  ASSIGN_OR_RETURN(Listing listing, List(env, dir));
  size_t first = listing.parquet.size();
  while (first > 0) {
    StatusOr<FileInfo> info = env->Stat(Join(dir, listing.parquet[first - 1]));
    if (!info.ok() || info->size >= options.small_file_bytes) break;
    --first;
  }
  std::vector<std::string> inputs(listing.parquet.begin() + static_cast<ptrdiff_t>(first),
                                  listing.parquet.end());
  if (inputs.size() < std::max<size_t>(options.min_files, 2)) return size_t{0};
  RETURN_IF_ERROR(Merge(engine, env, dir, inputs));
  return inputs.size();
}

}  // namespace cairn::features
