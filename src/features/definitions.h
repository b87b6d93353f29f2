// The feature store's definitions: what a feature repo (cairn_features.yaml
// plus definition files) declares, as plain values. The loader builds them
// from YAML, the registry stores them versioned, and retrieval, materialization
// and serving read them.
//
// Names follow Feast's: entities with join keys, sources (files, SQL over other
// sources, push), feature views, on-demand feature views and feature services.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cairn::features {

// Feast's scalar value types.
enum class ValueType { kInt32, kInt64, kFloat32, kFloat64, kString, kBytes, kBool, kUnixTimestamp };

// "Int64", "Float64", ... as Feast spells them.
std::string_view ValueTypeName(ValueType type);
// Accepts Feast's names case-insensitively and the usual aliases (int, float,
// double, str, timestamp). Errors: InvalidArgument listing the types.
StatusOr<ValueType> ParseValueType(std::string_view name);

// Durations in definitions: "0" (unbounded), "90s", "15m", "2h", "1d", "1w",
// or a bare number of seconds. Errors: InvalidArgument naming the form.
StatusOr<int64_t> ParseDurationSeconds(std::string_view text);
std::string FormatDuration(int64_t seconds);  // largest exact unit: "1d", "90m", "0"

using Tags = std::map<std::string, std::string>;

struct Field {
  std::string name;
  ValueType type = ValueType::kString;
  std::string description;
};

struct Entity {
  std::string name;
  std::string origin;            // "file:line" it was declared at; not part of its definition
  std::vector<Field> join_keys;  // one or more; each with its value type
  std::string description;
  std::string owner;
  Tags tags;
};

enum class SourceKind { kFile, kSql, kPush };
std::string_view SourceKindName(SourceKind kind);

struct Source {
  std::string name;
  std::string origin;  // "file:line" it was declared at; not part of its definition
  SourceKind kind = SourceKind::kFile;
  std::string path;          // kFile: a path or glob, relative to the repo folder when not absolute
  std::string format;        // kFile: "parquet" or "csv" (from the extension when not given)
  std::string query;         // kSql: a DuckDB query that names other sources as tables
  std::string batch_source;  // kPush: where offline pushes land and history is read from
  std::string timestamp_field;
  std::string created_timestamp_field;               // optional
  std::map<std::string, std::string> field_mapping;  // source column -> feature name
  std::string description;
  std::string owner;
  Tags tags;
};

struct FeatureView {
  std::string name;
  std::string origin;  // "file:line" it was declared at; not part of its definition
  std::vector<std::string> entities;
  std::vector<Field> schema;  // the features (entity join keys are implied)
  int64_t ttl_seconds = 0;    // 0: unbounded
  std::string source;
  bool online = true;
  bool offline = true;
  std::string transformation;  // optional SQL over the table `source`
  std::string description;
  std::string owner;
  Tags tags;

  const Field* FindFeature(std::string_view feature) const;
};

struct OnDemandFeature {
  Field field;
  std::string expression;
};

struct OnDemandFeatureView {
  std::string name;
  std::string origin;                 // "file:line" it was declared at; not part of its definition
  std::vector<std::string> sources;   // feature views whose features the expressions read
  std::vector<Field> request_schema;  // values the request itself must carry
  std::vector<OnDemandFeature> features;
  std::string description;
  std::string owner;
  Tags tags;
};

// One view's part of a service: all its features, or a subset; `alias`
// replaces the view's name in output column names (Feast's projection).
struct FeatureServiceEntry {
  std::string view;
  std::vector<std::string> features;  // empty: all
  std::string alias;
};

struct FeatureService {
  std::string name;
  std::string origin;  // "file:line" it was declared at; not part of its definition
  std::vector<FeatureServiceEntry> features;
  std::string description;
  std::string owner;
  Tags tags;
};

// A whole feature repo: everything one `apply` declares.
struct FeatureRepo {
  std::string project;
  std::vector<Entity> entities;
  std::vector<Source> sources;
  std::vector<FeatureView> feature_views;
  std::vector<OnDemandFeatureView> on_demand_feature_views;
  std::vector<FeatureService> feature_services;
  // Folder the repo was loaded from; relative file paths resolve against it.
  std::string root;

  const Entity* FindEntity(std::string_view name) const;
  const Source* FindSource(std::string_view name) const;
  const FeatureView* FindFeatureView(std::string_view name) const;
  const OnDemandFeatureView* FindOnDemandFeatureView(std::string_view name) const;
  const FeatureService* FindFeatureService(std::string_view name) const;
};

}  // namespace cairn::features
