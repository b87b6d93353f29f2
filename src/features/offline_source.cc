#include "features/offline_source.h"

#include <filesystem>

namespace cairn::features {
namespace {

using offline::QuoteIdentifier;
using offline::QuoteLiteral;

std::string FileReader(const FeatureRepo& repo, const Source& source) {
  std::filesystem::path path(source.path);
  if (path.is_relative() && !repo.root.empty()) path = std::filesystem::path(repo.root) / path;
  std::string literal = QuoteLiteral(path.lexically_normal().string());
  if (source.format == "csv") {
    return "read_csv(" + literal + ", header = true, union_by_name = true)";
  }
  return "read_parquet(" + literal + ", union_by_name = true)";
}

std::string Mapped(const Source& source, const std::string& column) {
  auto it = source.field_mapping.find(column);
  return it == source.field_mapping.end() ? column : it->second;
}

// The source a view reads history from: a push source's batch source.
const Source* HistorySource(const FeatureRepo& repo, const FeatureView& view) {
  const Source* source = repo.FindSource(view.source);
  if (source != nullptr && source->kind == SourceKind::kPush && !source->batch_source.empty()) {
    return repo.FindSource(source->batch_source);
  }
  return source;
}

}  // namespace

std::string SqlTypeOf(ValueType type) {
  switch (type) {
    case ValueType::kInt32:
      return "INTEGER";
    case ValueType::kInt64:
      return "BIGINT";
    case ValueType::kFloat32:
      return "FLOAT";
    case ValueType::kFloat64:
      return "DOUBLE";
    case ValueType::kString:
      return "VARCHAR";
    case ValueType::kBytes:
      return "BLOB";
    case ValueType::kBool:
      return "BOOLEAN";
    case ValueType::kUnixTimestamp:
      return "TIMESTAMPTZ";
  }
  return "VARCHAR";
}

Status RegisterSources(offline::Engine& engine, const FeatureRepo& repo) {
  // File sources first; SQL sources may read them and each other, so those
  // are created in rounds until every one binds (or no round makes progress).
  std::vector<const Source*> pending;
  for (const Source& s : repo.sources) {
    if (s.kind == SourceKind::kFile) {
      Status created = engine.Execute("CREATE OR REPLACE TEMP VIEW " + QuoteIdentifier(s.name) +
                                      " AS SELECT * FROM " + FileReader(repo, s));
      if (!created.ok()) {
        return InvalidArgument(s.origin + ": source '" + s.name + "' (" + s.path +
                               "): " + created.message());
      }
    } else {
      pending.push_back(&s);
    }
  }
  while (!pending.empty()) {
    std::vector<const Source*> failed;
    Status last_error = Status::Ok();
    for (const Source* s : pending) {
      std::string body;
      if (s->kind == SourceKind::kSql) {
        body = s->query;
      } else if (!s->batch_source.empty()) {
        body = "SELECT * FROM " + QuoteIdentifier(s->batch_source);
      } else {
        continue;  // a push source without history: nothing to read offline
      }
      Status created =
          engine.Execute("CREATE OR REPLACE TEMP VIEW " + QuoteIdentifier(s->name) + " AS " + body);
      if (!created.ok()) {
        failed.push_back(s);
        last_error =
            InvalidArgument(s->origin + ": source '" + s->name + "': " + created.message());
      }
    }
    if (failed.size() == pending.size()) return last_error;
    pending = std::move(failed);
  }
  return Status::Ok();
}

std::string TimestampColumn(const FeatureRepo& repo, const FeatureView& view) {
  const Source* source = HistorySource(repo, view);
  if (source == nullptr) return "";
  std::string field = source->timestamp_field;
  if (field.empty() && source != repo.FindSource(view.source)) {
    field = repo.FindSource(view.source)->timestamp_field;
  }
  return Mapped(*source, field);
}

std::string CreatedColumn(const FeatureRepo& repo, const FeatureView& view) {
  const Source* source = HistorySource(repo, view);
  if (source == nullptr || source->created_timestamp_field.empty()) return "";
  return Mapped(*source, source->created_timestamp_field);
}

std::string ViewRowsQuery(const FeatureRepo& repo, const FeatureView& view) {
  const Source* source = HistorySource(repo, view);
  std::string name = source != nullptr ? source->name : view.source;
  std::string rows = "SELECT * FROM " + QuoteIdentifier(name);
  if (source != nullptr && !source->field_mapping.empty()) {
    rows = "SELECT * RENAME (";
    bool first = true;
    for (const auto& [from, to] : source->field_mapping) {
      rows += (first ? "" : ", ") + QuoteIdentifier(from) + " AS " + QuoteIdentifier(to);
      first = false;
    }
    rows += ") FROM " + QuoteIdentifier(name);
  }
  if (view.transformation.empty()) return rows;
  return "WITH source AS (" + rows + ") " + view.transformation;
}

}  // namespace cairn::features
