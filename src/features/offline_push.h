// Offline pushes: rows sent to Feast's /push with `to: "offline"` (or
// "online_and_offline") are kept as Parquet files under the pushed-rows root
// (--data-dir/features/pushed), one file per push in
// <root>/<project>/<push source>/. Each file is written under a temporary
// name and renamed into place, so a reader sees a push whole or not at all.
//
// The push source's offline view (RegisterSources) reads its batch source
// and these files together, so training sets, materialization and
// statistics see pushed rows like any others. Pushed files use the batch
// source's column names (the frame's names are the view's, after the
// source's field mapping, as for online pushes), so one mapping applies to
// both.
//
// Small files are merged as they accumulate (pushed_files.h), so a source
// pushed to every second does not leave readers 86,400 files a day.
//
// Thread-safety: as offline::Engine for AppendPushedRows; pushes from
// several processes write distinct files.
#pragma once

#include <string>

#include "core/env.h"
#include "core/status.h"
#include "features/definitions.h"
#include "features/online_writer.h"
#include "features/pushed_files.h"
#include "offline/engine.h"

namespace cairn::features {

// --data-dir/features/pushed.
std::string PushedRowsRoot(const std::string& data_dir);
// Where the pushed rows of `source` in `project` live under `root`.
std::string PushedRowsDir(const std::string& root, const std::string& project,
                          const std::string& source);

// Appends `frame` to `push`'s offline rows. Columns are typed by the feature
// views the source feeds (join keys, features, the timestamp and created
// timestamp); other columns keep their JSON type. Returns the rows written.
// Errors: InvalidArgument naming the column (and row) for a missing join key
// or timestamp, columns of unequal length, or a value of the wrong type;
// Unavailable when the file cannot be written (nothing is then visible).
// Afterwards merges the source's small files when `compaction` says so (see
// pushed_files.h); a failed merge is logged, never the push's error.
StatusOr<size_t> AppendPushedRows(offline::Engine& engine, const FeatureRepo& repo,
                                  const Source& push, const Frame& frame, const std::string& root,
                                  Env* env, const CompactionOptions& compaction = {});

}  // namespace cairn::features
