#include "features/offline_push.h"

#include <filesystem>
#include <map>
#include <memory>

#include "core/log.h"
#include "features/offline_source.h"

namespace cairn::features {
namespace {

namespace fs = std::filesystem;
using offline::Column;
using offline::ColumnType;

// The type of a column no view declares, from its first non-null value.
std::optional<ValueType> InferredType(const std::vector<FrameValue>& values) {
  for (const FrameValue& v : values) {
    if (std::holds_alternative<int64_t>(v)) return ValueType::kInt64;
    if (std::holds_alternative<double>(v)) return ValueType::kFloat64;
    if (std::holds_alternative<std::string>(v)) return ValueType::kString;
    if (std::holds_alternative<bool>(v)) return ValueType::kBool;
  }
  return std::nullopt;  // only nulls: the column is left out
}

struct Declared {
  ValueType type;
  bool time;      // an event or created timestamp: text or Unix seconds in the frame
  bool required;  // join keys and the event time; features and created time may be missing
};

// The columns the views fed by `push` declare, by their names in the frame.
std::map<std::string, Declared> DeclaredColumns(const FeatureRepo& repo, const Source& push) {
  std::map<std::string, Declared> declared;
  for (const FeatureView& view : repo.feature_views) {
    if (view.source != push.name) continue;
    for (const Field& key : JoinKeys(repo, view)) declared[key.name] = {key.type, false, true};
    for (const Field& f : view.schema) declared.try_emplace(f.name, Declared{f.type, false, false});
    declared[TimestampColumn(repo, view)] = {ValueType::kUnixTimestamp, true, true};
    if (std::string created = CreatedColumn(repo, view); !created.empty()) {
      declared[created] = {ValueType::kUnixTimestamp, true, false};
    }
  }
  return declared;
}

}  // namespace

std::string PushedRowsRoot(const std::string& data_dir) {
  return (fs::path(data_dir) / "features" / "pushed").lexically_normal().string();
}

std::string PushedRowsDir(const std::string& root, const std::string& project,
                          const std::string& source) {
  return (fs::path(root) / project / source).string();
}

StatusOr<size_t> AppendPushedRows(offline::Engine& engine, const FeatureRepo& repo,
                                  const Source& push, const Frame& frame, const std::string& root,
                                  Env* env, const CompactionOptions& compaction) {
  ASSIGN_OR_RETURN(size_t rows, frame.Rows());
  std::map<std::string, Declared> declared = DeclaredColumns(repo, push);
  for (const auto& [name, d] : declared) {
    if (d.required && frame.Find(name) == nullptr) {
      return InvalidArgument("df: missing column '" + name + "', needed by the feature views of " +
                             "push source '" + push.name + "'");
    }
  }
  if (rows == 0) return size_t{0};

  // The batch source's names: the frame uses the views' (mapped) names.
  std::map<std::string, std::string> raw_name;
  if (const Source* batch = repo.FindSource(push.batch_source); batch != nullptr) {
    for (const auto& [from, to] : batch->field_mapping) raw_name[to] = from;
  }
  auto table = std::make_shared<offline::Table>();
  for (const auto& [name, values] : frame.columns) {
    auto it = declared.find(name);
    std::optional<ValueType> type =
        it != declared.end() ? std::optional(it->second.type) : InferredType(values);
    if (!type.has_value()) continue;
    bool time = it != declared.end() && it->second.time;
    auto mapped = raw_name.find(name);
    Column column(mapped != raw_name.end() ? mapped->second : name,
                  time ? ColumnType::kTimestamp : ColumnTypeOf(*type));
    column.Reserve(rows);
    for (size_t row = 0; row < rows; ++row) {
      const FrameValue& v = values[row];
      if (std::holds_alternative<std::monostate>(v)) {
        column.AppendNull();
      } else if (time) {
        ASSIGN_OR_RETURN(int64_t micros, FrameTime(v, name, row));
        column.AppendInt(micros);
      } else {
        ASSIGN_OR_RETURN(FeatureValue value, FrameFeatureValue(v, *type, name, row));
        AppendFeatureValue(value, &column);
      }
    }
    table->columns.push_back(std::move(column));
  }

  RETURN_IF_ERROR(engine.RegisterTable("pushed_rows", std::move(table)));

  std::string dir = PushedRowsDir(root, repo.project, push.name);
  if (Status created = env->CreateDirectories(dir); !created.ok()) {
    return Unavailable("cannot create the folder for pushed rows: " + created.message());
  }
  // Time first, so files list in push order; the random part keeps
  // concurrent pushes apart. The temporary name does not match *.parquet.
  std::string name = std::to_string(env->NowMicros()) + "-" + env->RandomHex(8) + ".parquet";
  std::string temporary = dir + "/." + name + ".tmp";
  auto abandon = [&](const Status& why) {
    (void)env->RemoveFile(temporary);
    return Unavailable("cannot write pushed rows to " + dir + ": " + why.message());
  };
  // DuckDB writes the file itself (the real file system).
  Status copied = engine.Execute("COPY (SELECT * FROM cairn_table('pushed_rows')) TO " +
                                 offline::QuoteLiteral(temporary) + " (FORMAT parquet)");
  if (!copied.ok()) return abandon(copied);
  // Durable before it is visible, and its name durable before the answer.
  if (Status synced = env->SyncPath(temporary); !synced.ok()) return abandon(synced);
  if (Status published = env->RenameFile(temporary, dir + "/" + name); !published.ok()) {
    return abandon(published);
  }
  if (Status synced = env->SyncPath(dir); !synced.ok()) {
    // Visible but perhaps not durable: the caller hears of it and may push
    // again; a repeated row is resolved as any repeated push is (the
    // created time, then push order).
    return Unavailable("pushed rows in " + dir + " may not survive a crash: " + synced.message());
  }
  // The push is durable and visible; merging small files is housekeeping
  // that a failure must not turn into a failed push (it is retried next time).
  StatusOr<size_t> merged = CompactPushedFiles(engine, dir, env, compaction);
  if (!merged.ok()) {
    LogWarn("compaction of pushed rows failed",
            {{"folder", dir}, {"error", merged.status().message()}});
  } else if (*merged > 0) {
    LogInfo("compacted pushed rows", {{"folder", dir}, {"files", static_cast<uint64_t>(*merged)}});
  }
  return rows;
}

}  // namespace cairn::features
