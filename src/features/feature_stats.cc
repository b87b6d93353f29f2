#include "features/feature_stats.h"

#include "core/json.h"
#include "features/offline_source.h"

namespace cairn::features {
namespace {

using offline::Table;
using store::SqlRows;
using store::SqlSession;

constexpr double kQuantiles[] = {0.05, 0.25, 0.5, 0.75, 0.95};
constexpr int kTopValues = 5;

bool IsCategorical(ValueType t) { return t == ValueType::kString || t == ValueType::kBytes; }

// The feature as a DOUBLE for numeric aggregates.
std::string AsNumber(ValueType type, const std::string& column) {
  if (type == ValueType::kUnixTimestamp) return "epoch_us(" + column + ")::DOUBLE";
  return "CAST(" + column + " AS DOUBLE)";
}

std::optional<double> DoubleAt(const Table& t, const std::string& name) {
  const offline::Column* c = t.Find(name);
  if (c == nullptr || t.rows() == 0 || !c->IsValid(0)) return std::nullopt;
  return offline::IsDoubleStorage(c->type()) ? c->Double(0) : static_cast<double>(c->Int(0));
}

std::optional<int64_t> IntAt(const Table& t, const std::string& name) {
  const offline::Column* c = t.Find(name);
  if (c == nullptr || t.rows() == 0 || !c->IsValid(0)) return std::nullopt;
  return offline::IsDoubleStorage(c->type()) ? static_cast<int64_t>(c->Double(0)) : c->Int(0);
}

void WriteOptional(json::Writer& w, const char* key, const std::optional<double>& v) {
  if (!v) return;
  json::WriteKey(w, key);
  json::WriteDouble(w, *v);
}

void WriteOptionalInt(json::Writer& w, const char* key, const std::optional<int64_t>& v) {
  if (!v) return;
  json::WriteKey(w, key);
  w.Int64(*v);
}

std::optional<double> ReadDouble(const json::Value& o, const char* key) {
  auto it = o.FindMember(key);
  if (it == o.MemberEnd() || !it->value.IsNumber()) return std::nullopt;
  return it->value.GetDouble();
}

std::optional<int64_t> ReadInt(const json::Value& o, const char* key) {
  auto it = o.FindMember(key);
  if (it == o.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  return it->value.GetInt64();
}

std::string ReadString(const json::Value& o, const char* key) {
  auto it = o.FindMember(key);
  if (it == o.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

StatusOr<ViewStats> ComputeViewStats(offline::Engine& engine, const FeatureRepo& repo,
                                     const FeatureView& view, Env* env,
                                     std::optional<int64_t> window_start,
                                     std::optional<int64_t> window_end) {
  std::vector<std::string> names;
  for (const Field& f : view.schema) names.push_back(f.name);
  ASSIGN_OR_RETURN(ViewScan scan, BuildViewScan(engine, repo, view, {}, names));
  std::string rows = scan.sql;
  std::vector<std::string> where;
  if (window_start) where.push_back(scan.ts_expr + " >= " + std::to_string(*window_start));
  if (window_end) where.push_back(scan.ts_expr + " <= " + std::to_string(*window_end));
  for (size_t i = 0; i < where.size(); ++i) rows += (i == 0 ? " WHERE " : " AND ") + where[i];

  std::string select =
      "SELECT count(*)::BIGINT AS rows, min(__cairn_ts) AS oldest, max(__cairn_ts) AS newest";
  std::string split;  // the outer query's quantile columns
  std::string lists;  // the inner query's quantile lists
  for (size_t i = 0; i < view.schema.size(); ++i) {
    std::string column = "__cairn_f" + std::to_string(i);
    std::string n = std::to_string(i);
    select += ", count(" + column + ")::BIGINT AS n" + n;
    if (IsCategorical(view.schema[i].type)) {
      select += ", approx_count_distinct(" + column + ")::BIGINT AS d" + n;
      continue;
    }
    std::string x = AsNumber(view.schema[i].type, column);
    select += ", min(" + x + ") AS min" + n + ", max(" + x + ") AS max" + n + ", avg(" + x +
              ") AS mean" + n + ", stddev_samp(" + x + ") AS sd" + n;
    // One digest for all quantiles of a feature (a digest per quantile made
    // statistics of wide views cost more than materializing them); the list
    // is split into columns by the outer query.
    std::string list = "ql" + n;
    select += ", approx_quantile(" + x + ", [";
    for (size_t q = 0; q < std::size(kQuantiles); ++q) {
      select += (q == 0 ? "" : ", ") + std::to_string(kQuantiles[q]);
      split += ", " + list + "[" + std::to_string(q + 1) + "]::DOUBLE AS q" + std::to_string(q) +
               "_" + n;
    }
    select += "]) AS " + list;
    lists += (lists.empty() ? "" : ", ") + list;
  }
  std::string query = select + " FROM (" + rows + ")";
  if (!lists.empty()) query = "SELECT * EXCLUDE (" + lists + ")" + split + " FROM (" + query + ")";
  StatusOr<Table> summary = engine.Query(query);
  if (!summary.ok()) {
    return InvalidArgument("statistics of feature view '" + view.name +
                           "': " + summary.status().message());
  }

  ViewStats stats{.project = repo.project,
                  .view = view.name,
                  .computed_at_micros = env->NowMicros(),
                  .window_start_micros = window_start,
                  .window_end_micros = window_end};
  stats.rows = IntAt(*summary, "rows").value_or(0);
  stats.oldest_event_micros = IntAt(*summary, "oldest");
  stats.newest_event_micros = IntAt(*summary, "newest");
  for (size_t i = 0; i < view.schema.size(); ++i) {
    std::string n = std::to_string(i);
    FeatureStats f{.name = view.schema[i].name, .type = view.schema[i].type};
    f.nulls = stats.rows - IntAt(*summary, "n" + n).value_or(0);
    f.null_rate = stats.rows == 0 ? 0 : static_cast<double>(f.nulls) / stats.rows;
    if (IsCategorical(f.type)) {
      f.distinct = IntAt(*summary, "d" + n);
      if (f.type == ValueType::kString) {
        std::string column = "__cairn_f" + n;
        StatusOr<Table> top =
            engine.Query("SELECT " + column + " AS v, count(*)::BIGINT AS c FROM (" + rows +
                         ") WHERE " + column + " IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT " +
                         std::to_string(kTopValues));
        if (!top.ok()) return top.status();
        for (size_t r = 0; r < top->rows(); ++r) {
          f.top.emplace_back(std::string(top->columns[0].String(r)), top->columns[1].Int(r));
        }
      }
    } else {
      f.min = DoubleAt(*summary, "min" + n);
      f.max = DoubleAt(*summary, "max" + n);
      f.mean = DoubleAt(*summary, "mean" + n);
      f.stddev = DoubleAt(*summary, "sd" + n);
      for (size_t q = 0; q < std::size(kQuantiles); ++q) {
        if (auto v = DoubleAt(*summary, "q" + std::to_string(q) + "_" + n)) {
          f.quantiles.emplace_back(kQuantiles[q], *v);
        }
      }
    }
    stats.features.push_back(std::move(f));
  }
  return stats;
}

std::string ViewStatsToJson(const ViewStats& s) {
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  json::WriteKey(w, "project");
  json::WriteString(w, s.project);
  json::WriteKey(w, "view");
  json::WriteString(w, s.view);
  json::WriteKey(w, "computed_at_micros");
  w.Int64(s.computed_at_micros);
  json::WriteKey(w, "rows");
  w.Int64(s.rows);
  WriteOptionalInt(w, "oldest_event_micros", s.oldest_event_micros);
  WriteOptionalInt(w, "newest_event_micros", s.newest_event_micros);
  WriteOptionalInt(w, "window_start_micros", s.window_start_micros);
  WriteOptionalInt(w, "window_end_micros", s.window_end_micros);
  json::WriteKey(w, "features");
  w.StartArray();
  for (const FeatureStats& f : s.features) {
    w.StartObject();
    json::WriteKey(w, "name");
    json::WriteString(w, f.name);
    json::WriteKey(w, "type");
    json::WriteString(w, ValueTypeName(f.type));
    json::WriteKey(w, "nulls");
    w.Int64(f.nulls);
    json::WriteKey(w, "null_rate");
    json::WriteDouble(w, f.null_rate);
    WriteOptional(w, "min", f.min);
    WriteOptional(w, "max", f.max);
    WriteOptional(w, "mean", f.mean);
    WriteOptional(w, "stddev", f.stddev);
    if (!f.quantiles.empty()) {
      json::WriteKey(w, "quantiles");
      w.StartArray();
      for (const auto& [q, v] : f.quantiles) {
        w.StartObject();
        json::WriteKey(w, "q");
        json::WriteDouble(w, q);
        json::WriteKey(w, "value");
        json::WriteDouble(w, v);
        w.EndObject();
      }
      w.EndArray();
    }
    WriteOptionalInt(w, "distinct", f.distinct);
    if (!f.top.empty()) {
      json::WriteKey(w, "top");
      w.StartArray();
      for (const auto& [value, count] : f.top) {
        w.StartObject();
        json::WriteKey(w, "value");
        json::WriteString(w, value);
        json::WriteKey(w, "count");
        w.Int64(count);
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

StatusOr<ViewStats> ViewStatsFromJson(std::string_view text) {
  json::Document doc;
  RETURN_IF_ERROR(json::Parse(text, &doc));
  if (!doc.IsObject()) return Internal("stored feature statistics are damaged");
  ViewStats s;
  s.project = ReadString(doc, "project");
  s.view = ReadString(doc, "view");
  s.computed_at_micros = ReadInt(doc, "computed_at_micros").value_or(0);
  s.rows = ReadInt(doc, "rows").value_or(0);
  s.oldest_event_micros = ReadInt(doc, "oldest_event_micros");
  s.newest_event_micros = ReadInt(doc, "newest_event_micros");
  s.window_start_micros = ReadInt(doc, "window_start_micros");
  s.window_end_micros = ReadInt(doc, "window_end_micros");
  auto features = doc.FindMember("features");
  if (features != doc.MemberEnd() && features->value.IsArray()) {
    for (const json::Value& o : features->value.GetArray()) {
      if (!o.IsObject()) continue;
      FeatureStats f;
      f.name = ReadString(o, "name");
      f.type = ParseValueType(ReadString(o, "type")).value_or(ValueType::kString);
      f.nulls = ReadInt(o, "nulls").value_or(0);
      f.null_rate = ReadDouble(o, "null_rate").value_or(0);
      f.min = ReadDouble(o, "min");
      f.max = ReadDouble(o, "max");
      f.mean = ReadDouble(o, "mean");
      f.stddev = ReadDouble(o, "stddev");
      f.distinct = ReadInt(o, "distinct");
      auto q = o.FindMember("quantiles");
      if (q != o.MemberEnd() && q->value.IsArray()) {
        for (const json::Value& e : q->value.GetArray()) {
          if (e.IsObject())
            f.quantiles.emplace_back(ReadDouble(e, "q").value_or(0),
                                     ReadDouble(e, "value").value_or(0));
        }
      }
      auto top = o.FindMember("top");
      if (top != o.MemberEnd() && top->value.IsArray()) {
        for (const json::Value& e : top->value.GetArray()) {
          if (e.IsObject())
            f.top.emplace_back(ReadString(e, "value"), ReadInt(e, "count").value_or(0));
        }
      }
      s.features.push_back(std::move(f));
    }
  }
  return s;
}

Status FeatureStatsStore::Init() {
  std::vector<store::Migration> migrations = {
      store::DdlMigration(1, "feature view statistics", R"sql(
CREATE TABLE feature_view_stats (
  project TEXT NOT NULL,
  view TEXT NOT NULL,
  computed_time BIGINT NOT NULL,
  stats TEXT NOT NULL,
  PRIMARY KEY (project, view)
);
)sql")};
  return store_->Migrate("feature_stats", migrations);
}

Status FeatureStatsStore::Save(const ViewStats& stats) {
  std::string text = ViewStatsToJson(stats);
  return store_->Write([&](SqlSession& db) -> Status {
    return db
        .Execute(
            "INSERT INTO feature_view_stats (project, view, computed_time, stats) VALUES "
            "(?, ?, ?, ?) ON CONFLICT (project, view) DO UPDATE SET computed_time = "
            "excluded.computed_time, stats = excluded.stats",
            {stats.project, stats.view, stats.computed_at_micros, text})
        .status();
  });
}

StatusOr<ViewStats> FeatureStatsStore::Load(const std::string& project, const std::string& view) {
  std::string text;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT stats FROM feature_view_stats WHERE project = "
                                            "? AND view = ?",
                                            {project, view}));
    if (rows.empty()) {
      return NotFound("feature view '" + view +
                      "' has no statistics yet; run `cairn features "
                      "stats " +
                      view + "` or materialize it");
    }
    text = rows.Text(0, 0);
    return Status::Ok();
  }));
  return ViewStatsFromJson(text);
}

StatusOr<std::vector<ViewStats>> FeatureStatsStore::All(const std::string& project) {
  std::vector<std::string> texts;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows,
                     project.empty()
                         ? db.Query("SELECT stats FROM feature_view_stats ORDER BY project, view")
                         : db.Query("SELECT stats FROM feature_view_stats WHERE project = ? "
                                    "ORDER BY view",
                                    {project}));
    for (size_t i = 0; i < rows.size(); ++i) texts.push_back(rows.Text(i, 0));
    return Status::Ok();
  }));
  std::vector<ViewStats> out;
  for (const std::string& t : texts) {
    ASSIGN_OR_RETURN(ViewStats s, ViewStatsFromJson(t));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace cairn::features
