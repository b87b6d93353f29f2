// The Parquet files that hold one push source's offline rows (one folder per
// source, one file per push: see offline_push.h), how readers list them, and
// their compaction.
//
// Small pushes make many small files and every reader opens them all: a push
// a second is 86,400 files a day. Compaction merges the newest run of small
// files into one. It never lets a reader see a row twice or miss one:
//  - Readers take a snapshot: the file list, under a shared lock held while
//    they read. Compaction needs the lock exclusively and never waits for it:
//    while anyone reads it is skipped, and tried again at the next push.
//  - A merged file is published after a note naming the files it replaces. A
//    crash between publishing it and removing them leaves the note; readers
//    skip the files it names, and the next compaction removes them.
//  - Files are named so that name order is push order, and a merged file
//    takes the place of its first input: rows keep their order (a later push
//    of the same entity, event and created time wins ties).
//
// Files are reached through `env` (Env::LockFile, RenameFile, SyncPath...),
// so tests inject failures at each step; DuckDB writes and reads the Parquet
// files itself, so `env` must reach the real file system (the real Env or a
// wrapper of it such as FaultInjectionEnv).
//
// Thread-safety: free functions. The locks are Env file locks (flock(2) on
// <dir>/.lock), so they order threads of one process and separate processes
// alike.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "offline/engine.h"

namespace cairn::features {

struct PushedFiles {
  std::vector<std::string> paths;  // in push order; empty when nothing was pushed
  // Keeps compaction from removing `paths` while held.
  std::shared_ptr<const void> read_lock;
};

// Lists the files to read in `dir` (which need not exist). Waits while a
// compaction runs. Errors: Unavailable when the lock file cannot be opened.
StatusOr<PushedFiles> SnapshotPushedFiles(const std::string& dir, Env* env);

struct CompactionOptions {
  size_t min_files = 64;  // merge when the newest run of small files is this long
  uint64_t small_file_bytes = uint64_t{16} << 20;
};

// Merges the newest run of small files in `dir` into one when it holds at
// least options.min_files, unless a reader holds a snapshot. First finishes
// what a crashed compaction left. Returns how many files were merged (0: none).
// Errors: Unavailable when a file cannot be read, written or removed; the
// folder then still holds every row exactly once.
StatusOr<size_t> CompactPushedFiles(offline::Engine& engine, const std::string& dir, Env* env,
                                    const CompactionOptions& options = {});

}  // namespace cairn::features
