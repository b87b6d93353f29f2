#include "features/repo_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "features/on_demand.h"

namespace cairn::features {
namespace {

namespace fs = std::filesystem;

// Reads YAML nodes of one file, turning every problem into an error that
// names the file, line and field path.
class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  Status Error(const YAML::Node& node, std::string_view path, std::string_view message) const {
    std::string where = file_;
    if (node.IsDefined() && node.Mark().line >= 0) {
      where += ":" + std::to_string(node.Mark().line + 1);
    }
    return InvalidArgument(where + ": " + std::string(path) + ": " + std::string(message));
  }

  std::string Origin(const YAML::Node& node) const {
    return file_ + ":" + std::to_string(node.Mark().line + 1);
  }

  Status CheckKeys(const YAML::Node& node, std::string_view path,
                   std::initializer_list<std::string_view> allowed) const {
    if (!node.IsMap()) return Error(node, path, "expected a mapping of fields");
    for (const auto& item : node) {
      std::string key = item.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        return Error(item.first, std::string(path) + "." + key,
                     "unknown field; expected one of: " + list);
      }
    }
    return Status::Ok();
  }

  StatusOr<std::string> String(const YAML::Node& node, std::string_view path) const {
    if (!node.IsScalar()) return Error(node, path, "expected a single value");
    return node.Scalar();
  }

  // `node[key]` as a string: "" when absent; `required` makes absence an error.
  StatusOr<std::string> Field(const YAML::Node& parent, std::string_view key, std::string_view path,
                              bool required = false) const {
    YAML::Node node = parent[std::string(key)];
    std::string field_path = std::string(path) + "." + std::string(key);
    if (!node.IsDefined() || node.IsNull()) {
      if (required) return Error(parent, field_path, "required field is missing");
      return std::string();
    }
    return String(node, field_path);
  }

  StatusOr<bool> Bool(const YAML::Node& parent, std::string_view key, std::string_view path,
                      bool fallback) const {
    YAML::Node node = parent[std::string(key)];
    if (!node.IsDefined() || node.IsNull()) return fallback;
    std::string field_path = std::string(path) + "." + std::string(key);
    ASSIGN_OR_RETURN(std::string text, String(node, field_path));
    if (text == "true" || text == "yes" || text == "on") return true;
    if (text == "false" || text == "no" || text == "off") return false;
    return Error(node, field_path, "expected true or false, got '" + text + "'");
  }

  // A list of plain names; a single value counts as a list of one.
  StatusOr<std::vector<std::string>> Names(const YAML::Node& parent, std::string_view key,
                                           std::string_view path) const {
    std::vector<std::string> out;
    YAML::Node node = parent[std::string(key)];
    std::string field_path = std::string(path) + "." + std::string(key);
    if (!node.IsDefined() || node.IsNull()) return out;
    if (node.IsScalar()) {
      out.push_back(node.Scalar());
      return out;
    }
    if (!node.IsSequence()) return Error(node, field_path, "expected a list of names");
    for (size_t i = 0; i < node.size(); ++i) {
      ASSIGN_OR_RETURN(std::string name,
                       String(node[i], field_path + "[" + std::to_string(i) + "]"));
      out.push_back(std::move(name));
    }
    return out;
  }

  StatusOr<Tags> StringMap(const YAML::Node& parent, std::string_view key,
                           std::string_view path) const {
    Tags out;
    YAML::Node node = parent[std::string(key)];
    std::string field_path = std::string(path) + "." + std::string(key);
    if (!node.IsDefined() || node.IsNull()) return out;
    if (!node.IsMap()) return Error(node, field_path, "expected a mapping of names to values");
    for (const auto& item : node) {
      ASSIGN_OR_RETURN(std::string value,
                       String(item.second, field_path + "." + item.first.Scalar()));
      out[item.first.Scalar()] = std::move(value);
    }
    return out;
  }

  StatusOr<ValueType> Type(const YAML::Node& parent, std::string_view key, std::string_view path,
                           std::optional<ValueType> fallback) const {
    YAML::Node node = parent[std::string(key)];
    std::string field_path = std::string(path) + "." + std::string(key);
    if (!node.IsDefined() || node.IsNull()) {
      if (fallback) return *fallback;
      return Error(parent, field_path, "required field is missing");
    }
    ASSIGN_OR_RETURN(std::string text, String(node, field_path));
    StatusOr<ValueType> type = ParseValueType(text);
    if (!type.ok()) return Error(node, field_path, type.status().message());
    return *type;
  }

  // A schema: a list of {name, type, description}, or `name: type` pairs.
  StatusOr<std::vector<struct Field>> Schema(const YAML::Node& parent, std::string_view key,
                                             std::string_view path) const {
    std::vector<struct Field> out;
    YAML::Node node = parent[std::string(key)];
    std::string field_path = std::string(path) + "." + std::string(key);
    if (!node.IsDefined() || node.IsNull()) return out;
    if (!node.IsSequence()) return Error(node, field_path, "expected a list of fields");
    for (size_t i = 0; i < node.size(); ++i) {
      std::string item_path = field_path + "[" + std::to_string(i) + "]";
      ASSIGN_OR_RETURN(struct Field f, SchemaField(node[i], item_path));
      out.push_back(std::move(f));
    }
    return out;
  }

  StatusOr<struct Field> SchemaField(const YAML::Node& node, const std::string& path) const {
    struct Field f;
    bool shorthand = node.IsMap() && node.size() == 1 && !node["name"].IsDefined() &&
                     !node["type"].IsDefined() && !node["dtype"].IsDefined() &&
                     !node["description"].IsDefined();
    if (shorthand) {  // `conv_rate: Float32`
      auto item = *node.begin();
      f.name = item.first.Scalar();
      ASSIGN_OR_RETURN(std::string text, String(item.second, path + "." + f.name));
      StatusOr<ValueType> type = ParseValueType(text);
      if (!type.ok()) return Error(item.second, path + "." + f.name, type.status().message());
      f.type = *type;
      return f;
    }
    RETURN_IF_ERROR(CheckKeys(node, path, {"name", "type", "dtype", "description"}));
    ASSIGN_OR_RETURN(f.name, Field(node, "name", path, true));
    std::string_view type_key = node["dtype"].IsDefined() ? "dtype" : "type";
    ASSIGN_OR_RETURN(f.type, Type(node, type_key, path, std::nullopt));
    ASSIGN_OR_RETURN(f.description, Field(node, "description", path));
    return f;
  }

 private:
  std::string file_;
};

Status CheckName(const Reader& r, const YAML::Node& node, const std::string& path,
                 const std::string& name) {
  if (name.empty()) return r.Error(node, path + ".name", "must not be empty");
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    if (!ok) {
      return r.Error(node, path + ".name",
                     "'" + name + "' may hold only letters, digits, '_', '-' and '.'");
    }
  }
  return Status::Ok();
}

Status ParseEntity(const Reader& r, const YAML::Node& node, const std::string& path,
                   FeatureRepo* repo) {
  RETURN_IF_ERROR(r.CheckKeys(
      node, path, {"name", "join_keys", "join_key", "value_type", "description", "owner", "tags"}));
  Entity e;
  e.origin = r.Origin(node);
  ASSIGN_OR_RETURN(e.name, r.Field(node, "name", path, true));
  RETURN_IF_ERROR(CheckName(r, node, path, e.name));
  ASSIGN_OR_RETURN(ValueType default_type, r.Type(node, "value_type", path, ValueType::kInt64));
  if (node["join_key"].IsDefined() && node["join_keys"].IsDefined()) {
    return r.Error(node, path, "give join_keys or join_key, not both");
  }
  std::string keys_field = node["join_key"].IsDefined() ? "join_key" : "join_keys";
  YAML::Node keys = node[keys_field];
  if (!keys.IsDefined() || keys.IsNull()) {
    e.join_keys.push_back(
        {.name = e.name, .type = default_type});  // Feast: key defaults to the name
  } else if (keys.IsScalar()) {
    e.join_keys.push_back({.name = keys.Scalar(), .type = default_type});
  } else if (keys.IsSequence()) {
    for (size_t i = 0; i < keys.size(); ++i) {
      std::string key_path = path + "." + keys_field + "[" + std::to_string(i) + "]";
      if (keys[i].IsScalar()) {
        e.join_keys.push_back({.name = keys[i].Scalar(), .type = default_type});
      } else {
        ASSIGN_OR_RETURN(struct Field f, r.SchemaField(keys[i], key_path));
        e.join_keys.push_back(std::move(f));
      }
    }
  } else {
    return r.Error(keys, path + "." + keys_field, "expected a key name or a list of keys");
  }
  if (e.join_keys.empty()) return r.Error(keys, path + "." + keys_field, "needs at least one key");
  for (size_t i = 0; i < e.join_keys.size(); ++i) {
    ValueType t = e.join_keys[i].type;
    if (t != ValueType::kInt32 && t != ValueType::kInt64 && t != ValueType::kString &&
        t != ValueType::kBytes) {
      return r.Error(
          node, path + "." + keys_field + "[" + std::to_string(i) + "]",
          "a join key must be Int64, Int32, String or Bytes, not " + std::string(ValueTypeName(t)));
    }
  }
  ASSIGN_OR_RETURN(e.description, r.Field(node, "description", path));
  ASSIGN_OR_RETURN(e.owner, r.Field(node, "owner", path));
  ASSIGN_OR_RETURN(e.tags, r.StringMap(node, "tags", path));
  repo->entities.push_back(std::move(e));
  return Status::Ok();
}

Status ParseSource(const Reader& r, const YAML::Node& node, const std::string& path,
                   FeatureRepo* repo) {
  RETURN_IF_ERROR(
      r.CheckKeys(node, path,
                  {"name", "type", "path", "format", "query", "batch_source", "timestamp_field",
                   "created_timestamp_field", "field_mapping", "description", "owner", "tags"}));
  Source s;
  s.origin = r.Origin(node);
  ASSIGN_OR_RETURN(s.name, r.Field(node, "name", path, true));
  RETURN_IF_ERROR(CheckName(r, node, path, s.name));
  ASSIGN_OR_RETURN(std::string kind, r.Field(node, "type", path));
  ASSIGN_OR_RETURN(s.path, r.Field(node, "path", path));
  ASSIGN_OR_RETURN(s.query, r.Field(node, "query", path));
  ASSIGN_OR_RETURN(s.batch_source, r.Field(node, "batch_source", path));
  if (kind.empty()) kind = !s.query.empty() ? "sql" : !s.batch_source.empty() ? "push" : "file";
  if (kind == "file") {
    s.kind = SourceKind::kFile;
    if (s.path.empty()) return r.Error(node, path + ".path", "a file source needs a path");
  } else if (kind == "sql") {
    s.kind = SourceKind::kSql;
    if (s.query.empty()) return r.Error(node, path + ".query", "a sql source needs a query");
  } else if (kind == "push") {
    s.kind = SourceKind::kPush;
  } else {
    return r.Error(node["type"], path + ".type",
                   "unknown source type '" + kind + "'; expected file, sql or push");
  }
  ASSIGN_OR_RETURN(s.format, r.Field(node, "format", path));
  if (s.kind == SourceKind::kFile && s.format.empty()) {
    s.format = s.path.ends_with(".csv") || s.path.ends_with(".csv.gz") ? "csv" : "parquet";
  }
  if (!s.format.empty() && s.format != "parquet" && s.format != "csv") {
    return r.Error(node["format"], path + ".format",
                   "unknown format '" + s.format + "'; expected parquet or csv");
  }
  ASSIGN_OR_RETURN(s.timestamp_field, r.Field(node, "timestamp_field", path,
                                              /*required=*/s.kind != SourceKind::kPush));
  ASSIGN_OR_RETURN(s.created_timestamp_field, r.Field(node, "created_timestamp_field", path));
  ASSIGN_OR_RETURN(s.field_mapping, r.StringMap(node, "field_mapping", path));
  ASSIGN_OR_RETURN(s.description, r.Field(node, "description", path));
  ASSIGN_OR_RETURN(s.owner, r.Field(node, "owner", path));
  ASSIGN_OR_RETURN(s.tags, r.StringMap(node, "tags", path));
  repo->sources.push_back(std::move(s));
  return Status::Ok();
}

Status ParseFeatureView(const Reader& r, const YAML::Node& node, const std::string& path,
                        FeatureRepo* repo) {
  RETURN_IF_ERROR(r.CheckKeys(node, path,
                              {"name", "entities", "schema", "ttl", "source", "online", "offline",
                               "transformation", "description", "owner", "tags"}));
  FeatureView v;
  v.origin = r.Origin(node);
  ASSIGN_OR_RETURN(v.name, r.Field(node, "name", path, true));
  RETURN_IF_ERROR(CheckName(r, node, path, v.name));
  ASSIGN_OR_RETURN(v.entities, r.Names(node, "entities", path));
  ASSIGN_OR_RETURN(v.schema, r.Schema(node, "schema", path));
  if (v.schema.empty()) return r.Error(node, path + ".schema", "a feature view needs features");
  ASSIGN_OR_RETURN(std::string ttl, r.Field(node, "ttl", path));
  if (!ttl.empty()) {
    StatusOr<int64_t> seconds = ParseDurationSeconds(ttl);
    if (!seconds.ok()) return r.Error(node["ttl"], path + ".ttl", seconds.status().message());
    v.ttl_seconds = *seconds;
  }
  ASSIGN_OR_RETURN(v.source, r.Field(node, "source", path, true));
  ASSIGN_OR_RETURN(v.online, r.Bool(node, "online", path, true));
  ASSIGN_OR_RETURN(v.offline, r.Bool(node, "offline", path, true));
  ASSIGN_OR_RETURN(v.transformation, r.Field(node, "transformation", path));
  ASSIGN_OR_RETURN(v.description, r.Field(node, "description", path));
  ASSIGN_OR_RETURN(v.owner, r.Field(node, "owner", path));
  ASSIGN_OR_RETURN(v.tags, r.StringMap(node, "tags", path));
  repo->feature_views.push_back(std::move(v));
  return Status::Ok();
}

Status ParseOnDemand(const Reader& r, const YAML::Node& node, const std::string& path,
                     FeatureRepo* repo) {
  RETURN_IF_ERROR(r.CheckKeys(
      node, path,
      {"name", "sources", "request_schema", "features", "description", "owner", "tags"}));
  OnDemandFeatureView v;
  v.origin = r.Origin(node);
  ASSIGN_OR_RETURN(v.name, r.Field(node, "name", path, true));
  RETURN_IF_ERROR(CheckName(r, node, path, v.name));
  ASSIGN_OR_RETURN(v.sources, r.Names(node, "sources", path));
  ASSIGN_OR_RETURN(v.request_schema, r.Schema(node, "request_schema", path));
  YAML::Node features = node["features"];
  if (!features.IsSequence() || features.size() == 0) {
    return r.Error(features.IsDefined() ? features : node, path + ".features",
                   "expected a list of {name, type, expression}");
  }
  for (size_t i = 0; i < features.size(); ++i) {
    std::string item_path = path + ".features[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(r.CheckKeys(features[i], item_path,
                                {"name", "type", "dtype", "expression", "description"}));
    OnDemandFeature f;
    ASSIGN_OR_RETURN(f.field.name, r.Field(features[i], "name", item_path, true));
    std::string_view type_key = features[i]["dtype"].IsDefined() ? "dtype" : "type";
    ASSIGN_OR_RETURN(f.field.type, r.Type(features[i], type_key, item_path, std::nullopt));
    ASSIGN_OR_RETURN(f.field.description, r.Field(features[i], "description", item_path));
    ASSIGN_OR_RETURN(f.expression, r.Field(features[i], "expression", item_path, true));
    v.features.push_back(std::move(f));
  }
  ASSIGN_OR_RETURN(v.description, r.Field(node, "description", path));
  ASSIGN_OR_RETURN(v.owner, r.Field(node, "owner", path));
  ASSIGN_OR_RETURN(v.tags, r.StringMap(node, "tags", path));
  repo->on_demand_feature_views.push_back(std::move(v));
  return Status::Ok();
}

// Service entries: "view", "view:f1,f2" or {view, features, alias}.
Status ParseServiceEntry(const Reader& r, const YAML::Node& node, const std::string& path,
                         FeatureServiceEntry* entry) {
  if (node.IsScalar()) {
    const std::string& text = node.Scalar();
    size_t colon = text.find(':');
    entry->view = text.substr(0, colon);
    if (colon != std::string::npos) {
      std::stringstream list(text.substr(colon + 1));
      for (std::string f; std::getline(list, f, ',');) {
        size_t first = f.find_first_not_of(' ');
        if (first == std::string::npos) continue;
        entry->features.push_back(f.substr(first, f.find_last_not_of(' ') - first + 1));
      }
    }
    return Status::Ok();
  }
  RETURN_IF_ERROR(r.CheckKeys(node, path, {"view", "features", "alias"}));
  ASSIGN_OR_RETURN(entry->view, r.Field(node, "view", path, true));
  ASSIGN_OR_RETURN(entry->features, r.Names(node, "features", path));
  ASSIGN_OR_RETURN(entry->alias, r.Field(node, "alias", path));
  return Status::Ok();
}

Status ParseFeatureService(const Reader& r, const YAML::Node& node, const std::string& path,
                           FeatureRepo* repo) {
  RETURN_IF_ERROR(r.CheckKeys(node, path, {"name", "features", "description", "owner", "tags"}));
  FeatureService s;
  s.origin = r.Origin(node);
  ASSIGN_OR_RETURN(s.name, r.Field(node, "name", path, true));
  RETURN_IF_ERROR(CheckName(r, node, path, s.name));
  YAML::Node features = node["features"];
  if (!features.IsSequence() || features.size() == 0) {
    return r.Error(features.IsDefined() ? features : node, path + ".features",
                   "expected a list of views, \"view:feature,...\" or {view, features, alias}");
  }
  for (size_t i = 0; i < features.size(); ++i) {
    FeatureServiceEntry entry;
    RETURN_IF_ERROR(
        ParseServiceEntry(r, features[i], path + ".features[" + std::to_string(i) + "]", &entry));
    s.features.push_back(std::move(entry));
  }
  ASSIGN_OR_RETURN(s.description, r.Field(node, "description", path));
  ASSIGN_OR_RETURN(s.owner, r.Field(node, "owner", path));
  ASSIGN_OR_RETURN(s.tags, r.StringMap(node, "tags", path));
  repo->feature_services.push_back(std::move(s));
  return Status::Ok();
}

using ParseFn = Status (*)(const Reader&, const YAML::Node&, const std::string&, FeatureRepo*);

ParseFn ParserFor(std::string_view kind) {
  if (kind == kEntityKind) return ParseEntity;
  if (kind == kSourceKind) return ParseSource;
  if (kind == kFeatureViewKind) return ParseFeatureView;
  if (kind == kOnDemandKind) return ParseOnDemand;
  if (kind == kFeatureServiceKind) return ParseFeatureService;
  return nullptr;
}

Status ParseDocument(const YAML::Node& doc, const Reader& r, bool is_config, FeatureRepo* repo) {
  if (doc.IsNull()) return Status::Ok();
  if (!doc.IsMap()) return r.Error(doc, "(top)", "expected a mapping with definition lists");
  for (const auto& item : doc) {
    std::string key = item.first.Scalar();
    if (is_config && (key == "project" || key == "online_store" || key == "offline_store")) {
      continue;
    }
    ParseFn parse = ParserFor(key);
    if (parse == nullptr) {
      return r.Error(
          item.first, key,
          "unknown section; expected entities, sources, feature_views, "
          "on_demand_feature_views or feature_services" +
              std::string(is_config ? " (or project, online_store, offline_store)" : ""));
    }
    if (item.second.IsNull()) continue;
    if (!item.second.IsSequence()) return r.Error(item.second, key, "expected a list");
    for (size_t i = 0; i < item.second.size(); ++i) {
      RETURN_IF_ERROR(parse(r, item.second[i], key + "[" + std::to_string(i) + "]", repo));
    }
  }
  return Status::Ok();
}

StatusOr<YAML::Node> LoadYaml(std::string_view text, std::string_view file) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string(file) + ":" + std::to_string(e.mark.line + 1) +
                           ": not valid YAML: " + e.msg);
  }
}

// Definition files are small; a bigger one is a mistake (a data file in the repo).
constexpr uint64_t kMaxDefinitionFileBytes = 16 << 20;

StatusOr<std::string> ReadDefinitionFile(Env* env, const std::string& path) {
  StatusOr<std::string> text = env->ReadFile(path, kMaxDefinitionFileBytes);
  if (!text.ok()) return InvalidArgument(text.status().message());
  return text;
}

// The YAML definition files under `dir` (relative names joined to `prefix`),
// skipping dot-files and dot-folders. Bounded depth: a symlink cycle must
// not recurse forever.
Status CollectDefinitionFiles(Env* env, const std::string& dir, const std::string& prefix,
                              int depth, std::vector<std::string>* out) {
  constexpr int kMaxDepth = 32;
  if (depth > kMaxDepth) {
    return InvalidArgument("cannot list " + dir + ": more than " + std::to_string(kMaxDepth) +
                           " nested folders (a symlink loop?)");
  }
  StatusOr<std::vector<std::string>> names = env->ListDirectory(dir);
  if (!names.ok()) return InvalidArgument(names.status().message());
  for (const std::string& name : *names) {
    if (name.starts_with(".")) continue;
    std::string path = dir + "/" + name;
    std::string relative = prefix.empty() ? name : prefix + "/" + name;
    ASSIGN_OR_RETURN(FileInfo info, env->Stat(path));
    if (!info.exists) continue;  // A dangling symlink.
    if (info.is_directory) {
      RETURN_IF_ERROR(CollectDefinitionFiles(env, path, relative, depth + 1, out));
      continue;
    }
    std::string ext = fs::path(name).extension().string();
    if ((ext == ".yaml" || ext == ".yml") && relative != kRepoConfigFile) out->push_back(relative);
  }
  return Status::Ok();
}

// --- validation ---

template <typename T>
Status CheckUnique(const std::vector<T>& items, std::string_view kind) {
  std::set<std::string> seen;
  for (const T& item : items) {
    if (!seen.insert(item.name).second) {
      return InvalidArgument(item.origin + ": " + std::string(kind) + " '" + item.name +
                             "' is defined twice");
    }
  }
  return Status::Ok();
}

Status ValidateFeatureView(const FeatureRepo& repo, const FeatureView& v) {
  auto fail = [&](std::string_view field, const std::string& message) {
    return InvalidArgument(v.origin + ": feature view '" + v.name + "'." + std::string(field) +
                           ": " + message);
  };
  const Source* source = repo.FindSource(v.source);
  if (source == nullptr) return fail("source", "no source named '" + v.source + "'");
  std::set<std::string> columns;
  for (const std::string& entity_name : v.entities) {
    const Entity* entity = repo.FindEntity(entity_name);
    if (entity == nullptr) return fail("entities", "no entity named '" + entity_name + "'");
    for (const struct Field& key : entity->join_keys) {
      if (!columns.insert(key.name).second) {
        return fail("entities", "join key '" + key.name + "' appears in two entities");
      }
    }
  }
  for (const struct Field& f : v.schema) {
    if (!columns.insert(f.name).second) {
      return fail("schema", "'" + f.name + "' is declared twice or is also a join key");
    }
  }
  return Status::Ok();
}

Status ValidateOnDemand(const FeatureRepo& repo, const OnDemandFeatureView& v) {
  auto fail = [&](std::string_view field, const std::string& message) {
    return InvalidArgument(v.origin + ": on-demand feature view '" + v.name + "'." +
                           std::string(field) + ": " + message);
  };
  for (const std::string& source : v.sources) {
    if (repo.FindFeatureView(source) == nullptr) {
      return fail("sources", "no feature view named '" + source + "'");
    }
  }
  std::set<std::string> names;
  for (const OnDemandFeature& f : v.features) {
    if (!names.insert(f.field.name).second) {
      return fail("features", "'" + f.field.name + "' is declared twice");
    }
  }
  return CompileOnDemand(repo, v).status();  // every expression parses and its names resolve
}

Status ValidateService(const FeatureRepo& repo, const FeatureService& s) {
  auto fail = [&](const std::string& message) {
    return InvalidArgument(s.origin + ": feature service '" + s.name + "'.features: " + message);
  };
  for (const FeatureServiceEntry& entry : s.features) {
    if (const FeatureView* view = repo.FindFeatureView(entry.view)) {
      for (const std::string& f : entry.features) {
        if (view->FindFeature(f) == nullptr) {
          return fail("feature view '" + entry.view + "' has no feature '" + f + "'");
        }
      }
    } else if (const OnDemandFeatureView* odfv = repo.FindOnDemandFeatureView(entry.view)) {
      for (const std::string& f : entry.features) {
        bool found = std::any_of(odfv->features.begin(), odfv->features.end(),
                                 [&](const OnDemandFeature& o) { return o.field.name == f; });
        if (!found) return fail("on-demand view '" + entry.view + "' has no feature '" + f + "'");
      }
    } else {
      return fail("no feature view named '" + entry.view + "'");
    }
  }
  return Status::Ok();
}

// --- canonical YAML ---

void EmitTags(YAML::Emitter& out, std::string_view key, const Tags& tags) {
  if (tags.empty()) return;
  out << YAML::Key << std::string(key) << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : tags) out << YAML::Key << k << YAML::Value << v;
  out << YAML::EndMap;
}

void EmitString(YAML::Emitter& out, std::string_view key, const std::string& value) {
  if (!value.empty()) out << YAML::Key << std::string(key) << YAML::Value << value;
}

void EmitSchema(YAML::Emitter& out, std::string_view key, const std::vector<struct Field>& schema) {
  if (schema.empty()) return;
  out << YAML::Key << std::string(key) << YAML::Value << YAML::BeginSeq;
  for (const struct Field& f : schema) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << f.name << YAML::Key
        << "type" << YAML::Value << std::string(ValueTypeName(f.type));
    EmitString(out, "description", f.description);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void EmitNames(YAML::Emitter& out, std::string_view key, const std::vector<std::string>& names) {
  if (names.empty()) return;
  out << YAML::Key << std::string(key) << YAML::Value << YAML::Flow << names;
}

void EmitCommon(YAML::Emitter& out, const std::string& description, const std::string& owner,
                const Tags& tags) {
  EmitString(out, "description", description);
  EmitString(out, "owner", owner);
  EmitTags(out, "tags", tags);
}

std::string Emit(const Entity& e) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << e.name;
  EmitSchema(out, "join_keys", e.join_keys);
  EmitCommon(out, e.description, e.owner, e.tags);
  out << YAML::EndMap;
  return out.c_str();
}

std::string Emit(const Source& s) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << s.name << YAML::Key << "type"
      << YAML::Value << std::string(SourceKindName(s.kind));
  EmitString(out, "path", s.path);
  EmitString(out, "format", s.format);
  EmitString(out, "query", s.query);
  EmitString(out, "batch_source", s.batch_source);
  EmitString(out, "timestamp_field", s.timestamp_field);
  EmitString(out, "created_timestamp_field", s.created_timestamp_field);
  EmitTags(out, "field_mapping", s.field_mapping);
  EmitCommon(out, s.description, s.owner, s.tags);
  out << YAML::EndMap;
  return out.c_str();
}

std::string Emit(const FeatureView& v) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << v.name;
  EmitNames(out, "entities", v.entities);
  EmitSchema(out, "schema", v.schema);
  out << YAML::Key << "ttl" << YAML::Value << FormatDuration(v.ttl_seconds);
  out << YAML::Key << "source" << YAML::Value << v.source;
  if (!v.online) out << YAML::Key << "online" << YAML::Value << false;
  if (!v.offline) out << YAML::Key << "offline" << YAML::Value << false;
  EmitString(out, "transformation", v.transformation);
  EmitCommon(out, v.description, v.owner, v.tags);
  out << YAML::EndMap;
  return out.c_str();
}

std::string Emit(const OnDemandFeatureView& v) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << v.name;
  EmitNames(out, "sources", v.sources);
  EmitSchema(out, "request_schema", v.request_schema);
  out << YAML::Key << "features" << YAML::Value << YAML::BeginSeq;
  for (const OnDemandFeature& f : v.features) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << f.field.name
        << YAML::Key << "type" << YAML::Value << std::string(ValueTypeName(f.field.type))
        << YAML::Key << "expression" << YAML::Value << f.expression;
    EmitString(out, "description", f.field.description);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  EmitCommon(out, v.description, v.owner, v.tags);
  out << YAML::EndMap;
  return out.c_str();
}

std::string Emit(const FeatureService& s) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << s.name;
  out << YAML::Key << "features" << YAML::Value << YAML::BeginSeq;
  for (const FeatureServiceEntry& e : s.features) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "view" << YAML::Value << e.view;
    EmitNames(out, "features", e.features);
    EmitString(out, "alias", e.alias);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  EmitCommon(out, s.description, s.owner, s.tags);
  out << YAML::EndMap;
  return out.c_str();
}

}  // namespace

Status ParseDefinitions(std::string_view yaml, std::string_view file, FeatureRepo* repo) {
  ASSIGN_OR_RETURN(YAML::Node doc, LoadYaml(yaml, file));
  Reader reader(file);
  try {
    return ParseDocument(doc, reader, /*is_config=*/false, repo);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string(file) + ":" + std::to_string(e.mark.line + 1) + ": " +
                           e.msg);
  }
}

StatusOr<FeatureRepo> LoadRepo(Env* env, const std::string& root) {
  std::string folder = root.empty() ? "." : root;
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
  std::string config_path = folder + "/" + kRepoConfigFile;
  ASSIGN_OR_RETURN(FileInfo config_info, env->Stat(config_path));
  if (!config_info.exists || config_info.is_directory) {
    return NotFound("no " + std::string(kRepoConfigFile) + " in " + root +
                    "; a feature repo is a folder with that file (project: <name>) and YAML "
                    "definition files");
  }
  FeatureRepo repo;
  std::error_code ec;
  repo.root = fs::absolute(folder, ec).lexically_normal().string();

  std::vector<std::string> files;
  RETURN_IF_ERROR(CollectDefinitionFiles(env, folder, "", 0, &files));
  std::sort(files.begin(), files.end());

  try {
    ASSIGN_OR_RETURN(std::string config_text, ReadDefinitionFile(env, config_path));
    ASSIGN_OR_RETURN(YAML::Node config, LoadYaml(config_text, kRepoConfigFile));
    Reader reader(kRepoConfigFile);
    if (!config.IsMap()) return reader.Error(config, "(top)", "expected `project: <name>`");
    ASSIGN_OR_RETURN(repo.project, reader.Field(config, "project", "(top)", true));
    RETURN_IF_ERROR(ParseDocument(config, reader, /*is_config=*/true, &repo));
    for (const std::string& name : files) {
      ASSIGN_OR_RETURN(std::string text, ReadDefinitionFile(env, folder + "/" + name));
      RETURN_IF_ERROR(ParseDefinitions(text, name, &repo));
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(config_path + ": " + e.msg);
  }
  RETURN_IF_ERROR(ValidateRepo(repo));
  return repo;
}

Status ValidateRepo(const FeatureRepo& repo) {
  RETURN_IF_ERROR(CheckUnique(repo.entities, "entity"));
  RETURN_IF_ERROR(CheckUnique(repo.sources, "source"));
  RETURN_IF_ERROR(CheckUnique(repo.feature_views, "feature view"));
  RETURN_IF_ERROR(CheckUnique(repo.on_demand_feature_views, "on-demand feature view"));
  RETURN_IF_ERROR(CheckUnique(repo.feature_services, "feature service"));
  for (const OnDemandFeatureView& v : repo.on_demand_feature_views) {
    if (repo.FindFeatureView(v.name) != nullptr) {
      return InvalidArgument(v.origin + ": '" + v.name +
                             "' names both a feature view and an on-demand feature view");
    }
  }
  for (const Source& s : repo.sources) {
    if (s.kind == SourceKind::kPush && !s.batch_source.empty() &&
        repo.FindSource(s.batch_source) == nullptr) {
      return InvalidArgument(s.origin + ": source '" + s.name +
                             "'.batch_source: no source named '" + s.batch_source + "'");
    }
  }
  for (const FeatureView& v : repo.feature_views) RETURN_IF_ERROR(ValidateFeatureView(repo, v));
  for (const OnDemandFeatureView& v : repo.on_demand_feature_views) {
    RETURN_IF_ERROR(ValidateOnDemand(repo, v));
  }
  for (const FeatureService& s : repo.feature_services) RETURN_IF_ERROR(ValidateService(repo, s));
  return Status::Ok();
}

std::vector<DefinitionSpec> CanonicalSpecs(const FeatureRepo& repo) {
  std::vector<DefinitionSpec> out;
  for (const auto& e : repo.entities) out.push_back({std::string(kEntityKind), e.name, Emit(e)});
  for (const auto& s : repo.sources) out.push_back({std::string(kSourceKind), s.name, Emit(s)});
  for (const auto& v : repo.feature_views) {
    out.push_back({std::string(kFeatureViewKind), v.name, Emit(v)});
  }
  for (const auto& v : repo.on_demand_feature_views) {
    out.push_back({std::string(kOnDemandKind), v.name, Emit(v)});
  }
  for (const auto& s : repo.feature_services) {
    out.push_back({std::string(kFeatureServiceKind), s.name, Emit(s)});
  }
  return out;
}

Status ParseSpec(const DefinitionSpec& spec, std::string_view origin, FeatureRepo* repo) {
  ParseFn parse = ParserFor(spec.kind);
  if (parse == nullptr) return InvalidArgument("unknown definition kind '" + spec.kind + "'");
  ASSIGN_OR_RETURN(YAML::Node node, LoadYaml(spec.yaml, origin));
  Reader reader(origin);
  try {
    return parse(reader, node, spec.kind + "." + spec.name, repo);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string(origin) + ": " + e.msg);
  }
}

}  // namespace cairn::features
