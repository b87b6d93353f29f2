#include "feast/training_set_route.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <semaphore>
#include <thread>

#include "core/base64.h"
#include "core/confined_path.h"
#include "core/json.h"
#include "core/time_format.h"
#include "feast/feast_json.h"
#include "features/historical.h"
#include "features/offline_source.h"

namespace cairn::feast {
namespace {

using http::HttpRequest;
using http::HttpResponse;
using offline::Column;
using offline::ColumnInfo;
using offline::ColumnType;

// At most this many retrievals run at once: each already spreads over every
// core, and a third would only add its memory to theirs.
constexpr std::ptrdiff_t kConcurrentRetrievals = 2;

struct TrainingSetRequest {
  std::vector<std::string> features;
  std::string service;
  bool full_feature_names = false;
  std::optional<features::Frame> entities;  // inline, or read from entities_path
  std::string entities_path;
  std::string out_path;
  std::string timestamp_column;
  std::optional<int64_t> created_cutoff_micros;
  int64_t registry_version = 0;  // 0: the latest
};

StatusOr<TrainingSetRequest> DecodeRequest(const json::Document& doc) {
  TrainingSetRequest r;
  ASSIGN_OR_RETURN(r.features, StringList(doc, "features"));
  ASSIGN_OR_RETURN(r.service, OptionalString(doc, "feature_service"));
  if (r.features.empty() == r.service.empty()) {
    return InvalidArgument(
        "give exactly one of features (a list of \"view:feature\") and feature_service");
  }
  ASSIGN_OR_RETURN(r.full_feature_names, OptionalBool(doc, "full_feature_names", false));
  ASSIGN_OR_RETURN(r.entities_path, OptionalString(doc, "entities_path"));
  bool inline_entities = doc.HasMember("entities") && !doc["entities"].IsNull();
  if (inline_entities == !r.entities_path.empty()) {
    return InvalidArgument(
        "give exactly one of entities (a map of column names to lists of values) and "
        "entities_path (a .parquet or .csv file on the server)");
  }
  if (inline_entities) {
    ASSIGN_OR_RETURN(r.entities, DecodeFrame(doc, "entities"));
  }
  ASSIGN_OR_RETURN(r.out_path, OptionalString(doc, "out_path"));
  ASSIGN_OR_RETURN(r.timestamp_column, OptionalString(doc, "timestamp_column"));
  ASSIGN_OR_RETURN(std::string cutoff, OptionalString(doc, "as_of_created"));
  if (!cutoff.empty()) {
    StatusOr<int64_t> micros = ParseTimestampMicros(cutoff);
    if (!micros.ok()) return InvalidArgument("as_of_created: " + micros.status().message());
    r.created_cutoff_micros = *micros;
  }
  auto version = doc.FindMember("registry_version");
  if (version != doc.MemberEnd() && !version->value.IsNull()) {
    if (!version->value.IsInt64() || version->value.GetInt64() < 1) {
      return InvalidArgument("registry_version: expected a version number (1 or more)");
    }
    r.registry_version = version->value.GetInt64();
  }
  return r;
}

// A FLOAT column's value in the shortest form that reads back as the same
// float (0.4566, not the double it widens to, 0.45660001039505005).
void AppendFloat(std::string& out, double value) {
  float f = static_cast<float>(value);
  if (!std::isfinite(f)) return json::AppendDouble(out, value);  // "NaN", "Infinity"
  char buffer[32];
  char* end = std::to_chars(buffer, buffer + sizeof(buffer), f).ptr;
  if (std::string_view(buffer, static_cast<size_t>(end - buffer)).find_first_of(".e") ==
      std::string_view::npos) {
    *end++ = '.';
    *end++ = '0';
  }
  out.append(buffer, end);
}

void AppendCell(std::string& out, const Column& column, size_t row) {
  if (!column.IsValid(row)) {
    out += "null";
    return;
  }
  switch (column.type()) {
    case ColumnType::kBool:
      out += column.Int(row) != 0 ? "true" : "false";
      return;
    case ColumnType::kInt32:
    case ColumnType::kInt64:
      json::AppendInt(out, column.Int(row));
      return;
    case ColumnType::kTimestamp:
      out += '"';
      out += FormatRfc3339(column.Int(row));
      out += '"';
      return;
    case ColumnType::kFloat:
      AppendFloat(out, column.Double(row));
      return;
    case ColumnType::kDouble:
      json::AppendDouble(out, column.Double(row));
      return;
    case ColumnType::kString:
      json::AppendString(out, column.String(row));
      return;
    case ColumnType::kBytes:
      json::AppendString(out, Base64Encode(column.String(row)));
      return;
  }
}

// {"row_count", "columns": [{"name", "type"}], then "out_path" or "data"}.
std::string EncodeAnswer(size_t rows, const std::vector<ColumnInfo>& columns,
                         const offline::Table* data, const std::string& out_path) {
  std::string out;
  if (data != nullptr) out.reserve(64 + data->rows() * data->columns.size() * 16);
  out += "{\"row_count\":";
  json::AppendInt(out, static_cast<int64_t>(rows));
  out += ",\"columns\":[";
  for (size_t c = 0; c < columns.size(); ++c) {
    out += c > 0 ? ",{\"name\":" : "{\"name\":";
    json::AppendString(out, columns[c].name);
    out += ",\"type\":";
    json::AppendString(out, columns[c].sql_type);
    out += '}';
  }
  out += ']';
  if (data == nullptr) {
    out += ",\"out_path\":";
    json::AppendString(out, out_path);
  } else {
    out += ",\"data\":{";
    for (size_t c = 0; c < data->columns.size(); ++c) {
      const Column& column = data->columns[c];
      if (c > 0) out += ',';
      json::AppendString(out, column.name());
      out += ":[";
      for (size_t row = 0; row < column.size(); ++row) {
        if (row > 0) out += ',';
        AppendCell(out, column, row);
      }
      out += ']';
    }
    out += '}';
  }
  out += '}';
  return out;
}

// Resolves the request's server-side paths under the training data root, in
// place (see core/confined_path.h). Errors: PermissionDenied when the server
// has no root or a path leads outside it; NotFound/InvalidArgument as
// ResolveUnderRoot.
Status ConfinePaths(const FeastDependencies& deps, TrainingSetRequest& r) {
  if (r.entities_path.empty() && r.out_path.empty()) return Status::Ok();
  if (deps.training_data_root.empty()) {
    return PermissionDenied(
        std::string(r.entities_path.empty() ? "out_path" : "entities_path") +
        ": this server reads and writes no server-side files for training sets; send the "
        "entities inline and leave out out_path, or start the server with "
        "--training-data-root DIR to allow files under DIR");
  }
  if (!r.entities_path.empty()) {
    ASSIGN_OR_RETURN(r.entities_path, ResolveUnderRoot(deps.training_data_root, r.entities_path,
                                                       PathUse::kRead, "entities_path"));
  }
  if (!r.out_path.empty()) {
    if (!r.out_path.ends_with(".parquet") && !r.out_path.ends_with(".csv")) {
      return InvalidArgument("out_path: name a .parquet or .csv file");
    }
    ASSIGN_OR_RETURN(r.out_path, ResolveUnderRoot(deps.training_data_root, r.out_path,
                                                  PathUse::kWrite, "out_path"));
  }
  return Status::Ok();
}

// Writes the training set to `path` (resolved under the root) through a
// fresh file beside it, renamed into place: the rename replaces whatever is
// at `path` (a symlink planted after the check included) instead of writing
// through it, and readers never see half a file.
Status WriteConfined(offline::Engine& engine, const std::string& query, const std::string& path,
                     Env* env) {
  size_t slash = path.rfind('/');
  std::string name = path.substr(slash + 1);
  std::string temp = path.substr(0, slash + 1) + ".cairn-" + env->RandomHex(8) + "-" + name;
  Status written = features::WriteResult(engine, query, temp);
  if (written.ok() && std::rename(temp.c_str(), path.c_str()) != 0) {
    written =
        Internal("cannot move the finished file into place: " + std::string(std::strerror(errno)));
  }
  if (!written.ok()) std::remove(temp.c_str());
  return written;
}

StatusOr<std::string> BuildTrainingSet(const FeastDependencies& deps, const TrainingSetRequest& r) {
  ASSIGN_OR_RETURN(std::shared_ptr<const features::FeatureRepo> repo, deps.serving->Definitions());
  if (r.registry_version > 0) {
    ASSIGN_OR_RETURN(features::FeatureRepo older,
                     deps.registry->Load(repo->project, r.registry_version));
    repo = std::make_shared<const features::FeatureRepo>(std::move(older));
  }
  ASSIGN_OR_RETURN(auto resolved,
                   features::ResolveFeatures(*repo, r.features, r.service, r.full_feature_names));
  ASSIGN_OR_RETURN(std::unique_ptr<offline::Engine> engine, deps.open_engine());
  if (r.entities.has_value()) {
    RETURN_IF_ERROR(features::LoadEntityFrame(*engine, *r.entities, r.timestamp_column));
  } else {
    RETURN_IF_ERROR(features::LoadEntityFile(*engine, r.entities_path));
  }
  RETURN_IF_ERROR(features::RegisterSources(*engine, *repo, deps.pushed_root, deps.env));
  features::HistoricalRequest request{
      .features = std::move(resolved),
      .timestamp_column = r.timestamp_column,
      .created_cutoff_micros = r.created_cutoff_micros,
      .threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
  ASSIGN_OR_RETURN(features::HistoricalResult result,
                   features::GetHistoricalFeatures(*engine, *repo, request));
  ASSIGN_OR_RETURN(std::vector<ColumnInfo> columns, engine->Describe(result.query));
  if (!r.out_path.empty()) {
    Status written = WriteConfined(*engine, result.query, r.out_path, deps.env);
    if (!written.ok()) return InvalidArgument("out_path: " + written.message());
    return EncodeAnswer(result.rows, columns, nullptr,
                        StripRoot(r.out_path, deps.training_data_root));
  }
  // Refused before the rows are read: the table and its JSON would both be in memory.
  uint64_t cells = static_cast<uint64_t>(result.rows) * columns.size();
  if (cells > deps.training_set_json_max_cells) {
    return InvalidArgument(
        "The training set has " + std::to_string(result.rows) + " rows x " +
        std::to_string(columns.size()) + " columns, more than the " +
        std::to_string(deps.training_set_json_max_cells) +
        " cells answered as JSON (the server's training_set_json_max_cells); set out_path to "
        "write it to a Parquet or CSV file on the server instead");
  }
  ASSIGN_OR_RETURN(offline::Table data, engine->Query(result.query));
  return EncodeAnswer(data.rows(), columns, &data, "");
}

}  // namespace

void RegisterTrainingSetRoute(const surface::Surface& cairn_api, const FeastDependencies& deps) {
  // A route of Cairn's own API (Feast has no HTTP call for training sets):
  // errors in that API's shape.
  auth::AccessPolicy* access = cairn_api.access();
  const http::ErrorFormat* errors = &cairn_api.errors();
  auto slots =
      std::make_shared<std::counting_semaphore<kConcurrentRetrievals>>(kConcurrentRetrievals);
  cairn_api.Add(
      "POST", "/api/cairn/v1/features/historical",
      [deps, access, errors, slots](HttpRequest& request) {
        StatusOr<json::Document> doc = ParseBody(request);
        if (!doc.ok()) return errors->FromStatus(doc.status());
        StatusOr<TrainingSetRequest> decoded = DecodeRequest(*doc);
        if (!decoded.ok()) return errors->FromStatus(decoded.status());
        if (!decoded->entities_path.empty() || !decoded->out_path.empty()) {
          Status allowed = RequireEditor(access, request);
          if (!allowed.ok()) return errors->FromStatus(allowed);
          Status confined = ConfinePaths(deps, *decoded);
          if (!confined.ok()) return errors->FromStatus(confined);
        }
        if (!decoded->out_path.empty()) {
          Status audited = AuditWrite(
              deps.audit, request,
              "training_set_file " + StripRoot(decoded->out_path, deps.training_data_root));
          if (!audited.ok()) return errors->FromStatus(audited);
        }
        slots->acquire();
        StatusOr<std::string> body = BuildTrainingSet(deps, *decoded);
        slots->release();
        // Library messages (DuckDB's) name the files they read: show them
        // relative to the root, as the client gave them.
        if (!body.ok()) {
          return errors->FromStatus(Status(
              body.status().code(), StripRoot(body.status().message(), deps.training_data_root)));
        }
        return HttpResponse::Json(200, std::move(*body));
      },
      http::RouteOptions{.access = "any user; role editor with server-side paths"});
}

}  // namespace cairn::feast
