#include "registry/registry_service.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include "core/json.h"
#include "core/strings.h"
#include "registry/registry_search.h"
#include "registry/schema.h"
#include "tracking/records.h"
#include "tracking/run_search.h"
#include "tracking/validation.h"

namespace cairn::registry {

using store::SqlRows;
using store::SqlSession;
using store::SqlValue;

namespace {

constexpr size_t kMaxNameLength = 256;
constexpr size_t kMaxAliasLength = 255;
constexpr size_t kMaxTagValueLength = 100000;
constexpr size_t kMaxDescriptionLength = 100000;
// Keys per IN list: well under SQLite's and PostgreSQL's parameter limits.
constexpr size_t kInChunk = 500;

Status ModelNotFound(const std::string& name) {
  return NotFound("Registered Model with name=" + name + " not found");
}

Status VersionNotFound(const std::string& name, const std::string& version) {
  return NotFound("Model Version (name=" + name + ", version=" + version + ") not found");
}

// Python's int() on the version string, as MLflow's server parses it.
StatusOr<int64_t> ParseVersion(const std::string& text) {
  std::string digits(Trim(text, " \t\n\r"));
  if (!digits.empty() && digits[0] == '+') digits.erase(0, 1);
  bool ok = !digits.empty() && digits.size() <= 18 &&
            std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!ok) {
    return InvalidArgument("Model version must be an integer, got '" + text + "'");
  }
  return std::stoll(digits);
}

// MLflow keeps the last of duplicate tag keys.
std::vector<KeyValue> LastOfEachKey(const std::vector<KeyValue>& tags) {
  std::vector<KeyValue> out;
  for (auto it = tags.rbegin(); it != tags.rend(); ++it) {
    bool seen =
        std::any_of(out.begin(), out.end(), [&](const KeyValue& t) { return t.key == it->key; });
    if (!seen) out.push_back(*it);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

Status ValidateTags(const std::vector<KeyValue>& tags) {
  for (const KeyValue& t : tags) RETURN_IF_ERROR(ValidateRegistryTag(t));
  return Status::Ok();
}

Status ValidateDescription(const std::optional<std::string>& description) {
  if (!description) return Status::Ok();
  return tracking::ValidateLength("Description", kMaxDescriptionLength, *description);
}

StatusOr<int64_t> FindModelKey(SqlSession& db, const std::string& name) {
  ASSIGN_OR_RETURN(SqlRows rows,
                   db.Query("SELECT model_key FROM registered_models WHERE name = ?", {name}));
  if (rows.empty()) return ModelNotFound(name);
  return rows.Int(0, 0);
}

// A live version's (model key, number). `version_text` is what the client
// sent, echoed in the not-found message.
StatusOr<std::pair<int64_t, int64_t>> FindLiveVersion(SqlSession& db, const std::string& name,
                                                      const std::string& version_text) {
  ASSIGN_OR_RETURN(int64_t version, ParseVersion(version_text));
  ASSIGN_OR_RETURN(SqlRows rows,
                   db.Query("SELECT v.model_key FROM model_versions v JOIN registered_models m ON "
                            "m.model_key = v.model_key WHERE m.name = ? AND v.version = ? AND "
                            "v.deleted = 0",
                            {name, version}));
  if (rows.empty()) return VersionNotFound(name, version_text);
  return std::make_pair(rows.Int(0, 0), version);
}

Status Touch(SqlSession& db, int64_t model_key, int64_t now) {
  return db
      .Execute("UPDATE registered_models SET last_updated_time = ? WHERE model_key = ?",
               {now, model_key})
      .status();
}

std::string Placeholders(size_t n) { return tracking::InList(n); }

// Runs `sql` (with one IN list, written where "{IN}" stands) over `keys` in
// chunks, handing every row to `fn`.
Status ForEachInChunks(SqlSession& db, const std::string& sql, const std::vector<int64_t>& keys,
                       const std::function<void(const store::SqlRow&)>& fn) {
  for (size_t start = 0; start < keys.size(); start += kInChunk) {
    size_t n = std::min(kInChunk, keys.size() - start);
    std::string text = sql;
    text.replace(text.find("{IN}"), 4, Placeholders(n));
    std::vector<SqlValue> params(keys.begin() + static_cast<std::ptrdiff_t>(start),
                                 keys.begin() + static_cast<std::ptrdiff_t>(start + n));
    RETURN_IF_ERROR(db.ForEachRow(text, params, fn));
  }
  return Status::Ok();
}

std::vector<int64_t> Unique(std::vector<int64_t> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

constexpr char kVersionColumns[] =
    "m.name, v.model_key, v.version, v.creation_time, v.last_updated_time, v.description, "
    "v.user_id, v.stage, v.source, v.storage_location, v.run_id, v.run_link, v.model_id, "
    "v.status, v.status_message";

struct KeyedVersion {
  int64_t model_key = 0;
  ModelVersion version;
};

KeyedVersion VersionFromRow(const store::SqlRow& row) {
  KeyedVersion k;
  ModelVersion& v = k.version;
  v.name = std::string(row.Text(0));
  k.model_key = row.Int(1);
  v.version = row.Int(2);
  v.creation_timestamp = row.Int(3);
  v.last_updated_timestamp = row.Int(4);
  if (!row.IsNull(5)) v.description = std::string(row.Text(5));
  v.user_id = std::string(row.Text(6));
  auto stage = ParseStage(row.Text(7));
  v.stage = stage.ok() ? *stage : Stage::kNone;
  v.source = std::string(row.Text(8));
  v.storage_location = std::string(row.Text(9));
  v.run_id = std::string(row.Text(10));
  v.run_link = std::string(row.Text(11));
  v.model_id = std::string(row.Text(12));
  v.status = std::string(row.Text(13));
  v.status_message = std::string(row.Text(14));
  return k;
}

// Fills in the tags and aliases of `versions`.
Status AttachVersionDetails(SqlSession& db, std::vector<KeyedVersion>& versions) {
  if (versions.empty()) return Status::Ok();
  std::map<std::pair<int64_t, int64_t>, ModelVersion*> by_key;
  std::vector<int64_t> model_keys;
  for (KeyedVersion& k : versions) {
    by_key[{k.model_key, k.version.version}] = &k.version;
    model_keys.push_back(k.model_key);
  }
  model_keys = Unique(std::move(model_keys));
  RETURN_IF_ERROR(ForEachInChunks(
      db,
      "SELECT model_key, version, key, value FROM model_version_tags WHERE model_key IN {IN} "
      "ORDER BY model_key, version, key",
      model_keys, [&](const store::SqlRow& row) {
        auto it = by_key.find({row.Int(0), row.Int(1)});
        if (it != by_key.end()) {
          it->second->tags.push_back({std::string(row.Text(2)), std::string(row.Text(3))});
        }
      }));
  return ForEachInChunks(
      db,
      "SELECT model_key, version, alias FROM registered_model_aliases WHERE model_key IN {IN} "
      "ORDER BY model_key, alias",
      model_keys, [&](const store::SqlRow& row) {
        auto it = by_key.find({row.Int(0), row.Int(1)});
        if (it != by_key.end()) it->second->aliases.emplace_back(row.Text(2));
      });
}

// Versions matching `where` (over model_versions v joined with
// registered_models m), with tags and aliases, in `order` (SQL).
StatusOr<std::vector<KeyedVersion>> QueryVersions(SqlSession& db, const std::string& where,
                                                  std::vector<SqlValue> params,
                                                  const std::string& order = "v.version") {
  std::vector<KeyedVersion> out;
  RETURN_IF_ERROR(
      db.ForEachRow(std::string("SELECT ") + kVersionColumns +
                        " FROM model_versions v JOIN registered_models m ON "
                        "m.model_key = v.model_key WHERE " +
                        where + " ORDER BY " + order,
                    params, [&](const store::SqlRow& row) { out.push_back(VersionFromRow(row)); }));
  RETURN_IF_ERROR(AttachVersionDetails(db, out));
  return out;
}

StatusOr<ModelVersion> LoadVersion(SqlSession& db, int64_t model_key, int64_t version) {
  ASSIGN_OR_RETURN(auto rows,
                   QueryVersions(db, "v.model_key = ? AND v.version = ?", {model_key, version}));
  if (rows.empty()) {
    return Internal("Model version " + std::to_string(version) + " of model key " +
                    std::to_string(model_key) + " vanished");
  }
  return std::move(rows.front().version);
}

// The newest live version per stage of each model in `model_keys`.
StatusOr<std::vector<KeyedVersion>> LatestVersions(SqlSession& db,
                                                   const std::vector<int64_t>& model_keys) {
  std::vector<KeyedVersion> out;
  RETURN_IF_ERROR(ForEachInChunks(
      db,
      std::string("SELECT ") + kVersionColumns +
          " FROM model_versions v JOIN registered_models m ON m.model_key = v.model_key JOIN "
          "(SELECT model_key, stage, MAX(version) AS version FROM model_versions WHERE deleted = "
          "0 AND model_key IN {IN} GROUP BY model_key, stage) l ON l.model_key = v.model_key AND "
          "l.version = v.version ORDER BY v.model_key, v.version",
      model_keys, [&](const store::SqlRow& row) { out.push_back(VersionFromRow(row)); }));
  RETURN_IF_ERROR(AttachVersionDetails(db, out));
  return out;
}

// Registered models by key, in the order of `keys`, with tags, aliases and
// latest versions. Unknown keys are skipped.
StatusOr<std::vector<RegisteredModel>> LoadModels(SqlSession& db,
                                                  const std::vector<int64_t>& keys) {
  std::map<int64_t, RegisteredModel> by_key;
  std::vector<int64_t> unique = Unique(keys);
  RETURN_IF_ERROR(
      ForEachInChunks(db,
                      "SELECT model_key, name, description, creation_time, last_updated_time FROM "
                      "registered_models WHERE model_key IN {IN}",
                      unique, [&](const store::SqlRow& row) {
                        RegisteredModel& m = by_key[row.Int(0)];
                        m.name = std::string(row.Text(1));
                        if (!row.IsNull(2)) m.description = std::string(row.Text(2));
                        m.creation_timestamp = row.Int(3);
                        m.last_updated_timestamp = row.Int(4);
                      }));
  RETURN_IF_ERROR(ForEachInChunks(
      db,
      "SELECT model_key, key, value FROM registered_model_tags WHERE model_key IN {IN} ORDER BY "
      "model_key, key",
      unique, [&](const store::SqlRow& row) {
        by_key[row.Int(0)].tags.push_back({std::string(row.Text(1)), std::string(row.Text(2))});
      }));
  RETURN_IF_ERROR(ForEachInChunks(
      db,
      "SELECT model_key, alias, version FROM registered_model_aliases WHERE model_key IN {IN} "
      "ORDER BY model_key, alias",
      unique, [&](const store::SqlRow& row) {
        by_key[row.Int(0)].aliases.push_back({std::string(row.Text(1)), row.Int(2)});
      }));
  ASSIGN_OR_RETURN(auto latest, LatestVersions(db, unique));
  for (KeyedVersion& k : latest) {
    k.version.aliases.clear();  // MLflow lists aliases on the model, not on these.
    by_key[k.model_key].latest_versions.push_back(std::move(k.version));
  }
  std::vector<RegisteredModel> out;
  out.reserve(keys.size());
  for (int64_t key : keys) {
    auto it = by_key.find(key);
    if (it != by_key.end() && !it->second.name.empty()) out.push_back(it->second);
  }
  return out;
}

StatusOr<RegisteredModel> LoadModel(SqlSession& db, int64_t key) {
  ASSIGN_OR_RETURN(auto models, LoadModels(db, {key}));
  if (models.empty()) return Internal("Registered model key " + std::to_string(key) + " vanished");
  return std::move(models.front());
}

Status UpsertTag(SqlSession& db, const std::string& table, const std::string& owner_columns,
                 std::vector<SqlValue> owner, const KeyValue& tag) {
  std::string values = Placeholders(owner.size() + 2);
  owner.push_back(tag.key);
  owner.push_back(tag.value);
  return db
      .Execute("INSERT INTO " + table + " (" + owner_columns + ", key, value) VALUES " + values +
                   " ON CONFLICT (" + owner_columns + ", key) DO UPDATE SET value = excluded.value",
               owner)
      .status();
}

// --- Sources -----------------------------------------------------------------

// "s3:", "mlflow-artifacts:", ...: a URI scheme per RFC 3986 of at least two
// characters (so "C:\models" is a local path, not a scheme).
bool HasScheme(const std::string& source) {
  size_t colon = source.find(':');
  if (colon == std::string::npos || colon < 2) return false;
  if (!std::isalpha(static_cast<unsigned char>(source[0]))) return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = source[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// A registration source that is not a model URI: an artifact location this
// server or an object store can serve. Local paths would let a client point
// the registry at the server's own files; "." and ".." segments and NUL
// would let it escape the folder it names.
Status ValidateArtifactSource(const std::string& source) {
  if (!HasScheme(source) || source.rfind("file:", 0) == 0) {
    // MLflow's text (clients match it). Cairn's runs keep their files under
    // mlflow-artifacts:/, so no local path lies inside a run's folder.
    return InvalidArgument(
        "Invalid model version source: '" + source +
        "'. To use a local path as a model version source, the run_id request parameter has to "
        "be specified and the local path has to be contained within the artifact directory of "
        "the run specified by the run_id.");
  }
  std::string decoded = FullyPercentDecoded(source);
  size_t path_start = decoded.find(':') + 1;
  std::string_view path(decoded);
  path.remove_prefix(path_start);
  bool bad = decoded.find('\0') != std::string::npos;
  size_t start = 0;
  while (!bad && start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view segment = path.substr(start, slash - start);
    bad = segment == "." || segment == "..";
    start = slash + 1;
  }
  if (bad) {
    // MLflow's text, naming the source as it decoded it.
    return InvalidArgument(
        "Invalid model version source: '" + decoded +
        "'. If supplying a source as an http, https, local file path, ftp, "
        "objectstore, or mlflow-artifacts uri, an absolute path must be provided "
        "without relative path references present. Please provide an absolute "
        "path.");
  }
  return Status::Ok();
}

// `location` with its scheme lower-cased ("MLFLOW-ARTIFACTS:/..." is the same
// place to every client), so that checks by location see one spelling.
std::string CanonicalScheme(const std::string& location) {
  if (!HasScheme(location)) return location;
  size_t colon = location.find(':');
  return AsciiLower(std::string_view(location).substr(0, colon)) + location.substr(colon);
}

// When `location` lies in a run's folder of this server's artifact store
// (mlflow-artifacts:/<experiment>/<run>/artifacts/...), `run_id` must be that
// run: the gates judge a version by its run's metrics. Other locations
// (external stores, a logged model's folder) are not checked here.
Status CheckRunOwnsLocation(SqlSession& db, const std::string& run_id,
                            const std::string& location) {
  constexpr std::string_view kScheme = "mlflow-artifacts:/";
  if (location.rfind(kScheme, 0) != 0) return Status::Ok();
  std::string_view path(location);
  path.remove_prefix(kScheme.size());
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t first = path.find('/');
  if (first == std::string_view::npos) return Status::Ok();
  std::string_view rest = path.substr(first + 1);
  std::string owner(rest.substr(0, rest.find('/')));
  if (owner.empty() || owner == run_id || owner == "models") return Status::Ok();
  ASSIGN_OR_RETURN(bool owner_is_run, tracking::RunExists(db, owner));
  if (!owner_is_run) return Status::Ok();  // Not a run's folder.
  return InvalidArgument("run_id '" + run_id + "' is not the run whose artifacts hold source '" +
                         location + "' (" + owner +
                         "); leave run_id out or give the source's own run.");
}

// The live version a registry URI names (version, stage, latest, alias).
StatusOr<KeyedVersion> FindUriVersion(SqlSession& db, const ModelUri& uri,
                                      const std::string& text) {
  ASSIGN_OR_RETURN(int64_t model_key, FindModelKey(db, uri.name));
  std::string where = "v.model_key = ? AND v.deleted = 0";
  std::vector<SqlValue> params = {model_key};
  switch (uri.kind) {
    case ModelUri::Kind::kVersion:
      where += " AND v.version = ?";
      params.push_back(uri.version);
      break;
    case ModelUri::Kind::kStage:
      where += " AND v.stage = ?";
      params.push_back(std::string(StageName(uri.stage)));
      break;
    case ModelUri::Kind::kAlias:
      where +=
          " AND v.version = (SELECT version FROM registered_model_aliases WHERE model_key = ? AND "
          "alias = ?)";
      params.push_back(model_key);
      params.push_back(uri.alias);
      break;
    default:
      break;
  }
  ASSIGN_OR_RETURN(auto rows, QueryVersions(db, where, params, "v.version DESC"));
  if (rows.empty()) {
    switch (uri.kind) {
      case ModelUri::Kind::kVersion:
        return VersionNotFound(uri.name, std::to_string(uri.version));
      case ModelUri::Kind::kAlias:
        return NotFound("Registered model alias " + uri.alias + " not found.");
      case ModelUri::Kind::kStage:
        return NotFound("No versions of model with name '" + uri.name + "' and stage '" +
                        std::string(StageName(uri.stage)) + "' found (" + text + ").");
      default:
        return NotFound("Registered model " + uri.name + " has no versions (" + text + ").");
    }
  }
  return std::move(rows.front());
}

StatusOr<ResolvedModel> Resolve(SqlSession& db, const std::string& text) {
  ASSIGN_OR_RETURN(ModelUri uri, ParseModelUri(text));
  ResolvedModel out;
  switch (uri.kind) {
    case ModelUri::Kind::kRun: {
      ASSIGN_OR_RETURN(std::string root, tracking::RunArtifactUri(db, uri.run_id));
      out.artifact_uri = uri.path.empty() ? root : root + "/" + uri.path;
      out.run_id = uri.run_id;
      // MLflow 3 logs models as logged models, not run artifacts; its
      // clients read runs:/<run>/<name>/rest as that model's files.
      if (!uri.path.empty()) {
        const size_t slash = uri.path.find('/');
        const std::string name = uri.path.substr(0, slash);
        ASSIGN_OR_RETURN(auto logged, tracking::FindRunLoggedModel(db, uri.run_id, name));
        if (logged) {
          out.artifact_uri = logged->artifact_uri;
          if (slash != std::string::npos) out.artifact_uri += uri.path.substr(slash);
          out.model_id = logged->model_id;
        }
      }
      return out;
    }
    case ModelUri::Kind::kLoggedModel: {
      ASSIGN_OR_RETURN(tracking::LoggedModelLocation model,
                       tracking::FindLoggedModelLocation(db, uri.model_id));
      out.artifact_uri = model.artifact_uri;
      out.model_id = uri.model_id;
      out.run_id = model.source_run_id;
      return out;
    }
    default: {
      ASSIGN_OR_RETURN(KeyedVersion found, FindUriVersion(db, uri, text));
      out.artifact_uri = found.version.storage_location;
      out.model_id = found.version.model_id;
      out.run_id = found.version.run_id;
      out.version = std::move(found.version);
      return out;
    }
  }
}

// The promotion history's key for `target`: aliases lowercased.
std::string HistoryTarget(const std::string& target) {
  if (target.rfind("alias:", 0) == 0) return "alias:" + AsciiLower(target.substr(6));
  return target;
}

// The rules loaded before a transaction, or why they could not be.
using LoadedRules = StatusOr<std::unique_ptr<PromotionRules>>;

// Records that `version` of `name` took `target`, for later gates (see
// PromotionFacts), with the fingerprint of the rules that guarded it.
Status RecordPromotion(SqlSession& db, const LoadedRules& rules, int64_t model_key,
                       const std::string& name, const std::string& target, int64_t version,
                       int64_t now) {
  std::string fingerprint;
  if (rules.ok() && *rules != nullptr && (*rules)->Guards(target)) {
    fingerprint = (*rules)->Fingerprint();
  }
  ASSIGN_OR_RETURN(SqlRows run,
                   db.Query("SELECT run_id FROM model_versions WHERE model_key = ? AND version = ?",
                            {model_key, version}));
  return db
      .Execute(
          "INSERT INTO model_promotion_history (model_key, model_name, target, version, "
          "run_id, rules, time) VALUES (?, ?, ?, ?, ?, ?, ?)",
          {model_key, name, HistoryTarget(target), version, run.empty() ? "" : run.Text(0, 0),
           fingerprint, now})
      .status();
}

// Asks `rules`, in `db`'s transaction, whether `version` of `name` may take
// (kEnter) or give up (kLeave) `target`. OK when nothing guards it. A
// policy that could not be loaded refuses every such change: what it
// guards is unknown.
Status CheckChange(SqlSession& db, const LoadedRules& rules, Promotion::Kind kind,
                   const std::string& name, int64_t version, const std::string& target,
                   const Caller& caller) {
  if (!rules.ok()) return rules.status();
  if (*rules == nullptr || !(*rules)->Guards(target)) return Status::Ok();
  ASSIGN_OR_RETURN(Promotion p, PromotionFacts(db, name, version, target, (*rules)->Fingerprint()));
  p.kind = kind;
  p.user = caller.user;
  p.may_read_run = caller.may_read_run;
  return (*rules)->Allow(db, p);
}

// What the model `key` holds that could be guarded: (version, target) for
// every live version in a stage other than None, and every alias.
StatusOr<std::vector<std::pair<int64_t, std::string>>> HeldTargets(SqlSession& db, int64_t key) {
  std::vector<std::pair<int64_t, std::string>> held;
  RETURN_IF_ERROR(db.ForEachRow(
      "SELECT version, stage FROM model_versions WHERE model_key = ? AND deleted = 0 AND stage "
      "!= 'None' ORDER BY version",
      std::vector<SqlValue>{key}, [&](const store::SqlRow& row) {
        held.emplace_back(row.Int(0), "stage:" + std::string(row.Text(1)));
      }));
  RETURN_IF_ERROR(db.ForEachRow(
      "SELECT version, alias FROM registered_model_aliases WHERE model_key = ? ORDER BY alias",
      std::vector<SqlValue>{key}, [&](const store::SqlRow& row) {
        held.emplace_back(row.Int(0), "alias:" + std::string(row.Text(1)));
      }));
  return held;
}

std::string DescribeTarget(const std::string& target) {
  return target.rfind("alias:", 0) == 0 ? "alias '" + target.substr(6) + "'"
                                        : "stage " + target.substr(6);
}

// A rename keeps every guarded stage and alias behind its gates. Policies
// are keyed by name; when `old_rules` and `new_rules` differ, a model that
// holds anything either guards may not change names: into the new name it
// would carry a state its rules never admitted (rename away, promote
// ungated, rename back), out of the old name it would give one up without
// the old rules' approvals. The caller's way forward is to move the guarded
// state off through the policy first, or to give both names one policy.
Status CheckRenameKeepsGuards(SqlSession& db, int64_t key, const std::string& name,
                              const std::string& new_name, const LoadedRules& old_rules,
                              const LoadedRules& new_rules) {
  ASSIGN_OR_RETURN(auto held, HeldTargets(db, key));
  if (held.empty()) return Status::Ok();
  // A policy that cannot be read guards an unknown set: refuse.
  RETURN_IF_ERROR(old_rules.status());
  RETURN_IF_ERROR(new_rules.status());
  const PromotionRules* before = old_rules->get();
  const PromotionRules* after = new_rules->get();
  if (before == nullptr && after == nullptr) return Status::Ok();
  if (before != nullptr && after != nullptr && before->Fingerprint() == after->Fingerprint()) {
    return Status::Ok();
  }
  std::string guarded;
  for (const auto& [version, target] : held) {
    if ((before != nullptr && before->Guards(target)) ||
        (after != nullptr && after->Guards(target))) {
      guarded += (guarded.empty() ? "" : ", ") + DescribeTarget(target) + " (version " +
                 std::to_string(version) + ")";
    }
  }
  if (guarded.empty()) return Status::Ok();
  auto describe = [](const PromotionRules* rules) {
    return rules == nullptr ? std::string("no policy") : rules->Describe();
  };
  return PermissionDenied("Renaming registered model '" + name + "' to '" + new_name +
                          "' is refused: the names are governed by different promotion rules (" +
                          describe(before) + ", " + describe(after) + ") and the model holds " +
                          guarded +
                          ", which they guard. Move the guarded stage or alias off first "
                          "(a removal request if the policy needs approvals), or have both "
                          "names governed by the same policy.");
}

}  // namespace

StatusOr<std::string> DescribeModelState(SqlSession& db, const std::string& name) {
  ASSIGN_OR_RETURN(SqlRows found,
                   db.Query("SELECT model_key FROM registered_models WHERE name = ?", {name}));
  if (found.empty()) return std::string("{}");
  int64_t key = found.Int(0, 0);
  ASSIGN_OR_RETURN(RegisteredModel model, LoadModel(db, key));
  ASSIGN_OR_RETURN(auto versions, QueryVersions(db, "v.model_key = ? AND v.deleted = 0", {key}));
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  w.Key("name");
  json::WriteString(w, model.name);
  w.Key("description");
  json::WriteString(w, model.description.value_or(""));
  w.Key("tags");
  w.StartObject();
  for (const KeyValue& t : model.tags) {
    json::WriteKey(w, t.key);
    json::WriteString(w, t.value);
  }
  w.EndObject();
  w.Key("aliases");
  w.StartObject();
  for (const ModelAlias& a : model.aliases) {
    json::WriteKey(w, a.alias);
    w.Int64(a.version);
  }
  w.EndObject();
  w.Key("versions");
  w.StartArray();
  for (const KeyedVersion& k : versions) {
    const ModelVersion& v = k.version;
    w.StartObject();
    w.Key("version");
    w.Int64(v.version);
    w.Key("stage");
    json::WriteString(w, StageName(v.stage));
    w.Key("source");
    json::WriteString(w, v.source);
    w.Key("run_id");
    json::WriteString(w, v.run_id);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

StatusOr<Promotion> PromotionFacts(SqlSession& db, const std::string& name, int64_t version,
                                   const std::string& target, const std::string& rules) {
  bool alias = target.rfind("alias:", 0) == 0;
  if (!alias && target.rfind("stage:", 0) != 0) {
    return InvalidArgument("A promotion target is 'stage:<stage>' or 'alias:<alias>', not '" +
                           target + "'.");
  }
  ASSIGN_OR_RETURN(auto found, FindLiveVersion(db, name, std::to_string(version)));
  int64_t key = found.first;
  Promotion p;
  p.model = name;
  p.model_key = key;
  p.version = version;
  p.target = target;
  auto run_of = [&](int64_t v) -> StatusOr<std::string> {
    ASSIGN_OR_RETURN(
        SqlRows rows,
        db.Query("SELECT run_id FROM model_versions WHERE model_key = ? AND version = ?",
                 {key, v}));
    return rows.empty() ? std::string() : rows.Text(0, 0);
  };
  ASSIGN_OR_RETURN(SqlRows mine,
                   db.Query("SELECT run_id, creation_time FROM model_versions WHERE model_key = ? "
                            "AND version = ?",
                            {key, version}));
  p.candidate_run = mine.Text(0, 0);
  p.version_created_ms = mine.Int(0, 1);
  std::string what = target.substr(target.find(':') + 1);
  // Policies guard an alias whatever its case, so any spelling of it that
  // points elsewhere is the incumbent.
  ASSIGN_OR_RETURN(
      SqlRows holder,
      alias ? db.Query("SELECT MAX(version) FROM registered_model_aliases WHERE model_key = ? AND "
                       "LOWER(alias) = ? AND version != ?",
                       {key, AsciiLower(what), version})
            : db.Query("SELECT MAX(version) FROM model_versions WHERE model_key = ? AND "
                       "deleted = 0 AND stage = ? AND version != ?",
                       {key, what, version}));
  if (!holder.empty() && !holder.IsNull(0, 0)) {
    p.incumbent = holder.Int(0, 0);
    ASSIGN_OR_RETURN(p.incumbent_run, run_of(*p.incumbent));
    return p;
  }
  // Nothing else holds the target now: compare with the version last
  // promoted to it, so that archiving or deleting the incumbent first does
  // not lower the bar. Only moves made under this name or under the same
  // rules count: one made while the model was renamed to a name with weaker
  // rules (or none) would be a bar the attacker chose. Moves made under this
  // name by another model count too: renaming a model away (or deleting it)
  // and registering a new one under its name must not lower the bar either.
  ASSIGN_OR_RETURN(SqlRows last,
                   db.Query("SELECT version, run_id FROM model_promotion_history WHERE target = ? "
                            "AND ((model_key = ? AND version != ? AND (model_name = ? OR (rules = "
                            "? AND rules != ''))) OR (model_key != ? AND model_name = ?)) ORDER BY "
                            "promotion_id DESC LIMIT 1",
                            {HistoryTarget(target), key, version, name, rules, key, name}));
  if (!last.empty()) {
    p.incumbent = last.Int(0, 0);
    p.incumbent_run = last.Text(0, 1);
    p.incumbent_is_last_promoted = true;
  }
  return p;
}

// --- Validation ----------------------------------------------------------------

Status ValidateRegisteredModelName(const std::string& name, const char* field) {
  if (name.empty()) {
    return InvalidArgument(std::string("Missing value for required parameter '") + field +
                           "'. See the API docs for more information about request parameters.");
  }
  if (name.size() > kMaxNameLength) {
    return InvalidArgument("Registered model name '" + name.substr(0, 64) + "...' is " +
                           std::to_string(name.size()) + " bytes long; the limit is " +
                           std::to_string(kMaxNameLength) + ".");
  }
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || u < 0x20 || u == 0x7f) {
      return InvalidArgument("Invalid registered model name '" + name +
                             "': it must not contain '/' or control characters (a name is "
                             "addressed as models:/<name>/<version>).");
    }
  }
  return Status::Ok();
}

Status ValidateAliasName(const std::string& alias) {
  if (alias.empty()) return InvalidArgument("Registered model alias name cannot be empty.");
  for (char c : alias) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
      return InvalidArgument("Invalid alias name: '" + alias +
                             "'. Names may only contain alphanumerics, underscores (_), and "
                             "dashes (-).");
    }
  }
  if (alias.size() > kMaxAliasLength) {
    return InvalidArgument("'Registered model alias name' exceeds the maximum length of " +
                           std::to_string(kMaxAliasLength) + " characters");
  }
  if (EqualsIgnoreCase(alias, "latest")) {
    return InvalidArgument("'latest' alias name (case insensitive) is reserved.");
  }
  if (alias.size() > 1 && (alias[0] == 'v' || alias[0] == 'V') &&
      std::all_of(alias.begin() + 1, alias.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return InvalidArgument("Version alias name '" + alias + "' is reserved.");
  }
  return Status::Ok();
}

Status ValidateRegistryTag(const KeyValue& tag) {
  RETURN_IF_ERROR(tracking::ValidateKeyName("tag", tag.key, /*allow_colon=*/true));
  return tracking::ValidateLength("Tag value", kMaxTagValueLength, tag.value);
}

// --- Service -------------------------------------------------------------------

RegistryService::RegistryService(store::MetadataStore* store, Env* env)
    : store_(store), env_(env) {}

Status RegistryService::Init() {
  std::vector<store::Migration> migrations = RegistryMigrations();
  return store_->Migrate("registry", migrations);
}

StatusOr<RegisteredModel> RegistryService::CreateRegisteredModel(
    const std::string& name, const std::optional<std::string>& description,
    const std::vector<KeyValue>& tags) {
  RETURN_IF_ERROR(ValidateRegisteredModelName(name));
  RETURN_IF_ERROR(ValidateTags(tags));
  RETURN_IF_ERROR(ValidateDescription(description));
  std::vector<KeyValue> unique_tags = LastOfEachKey(tags);
  RegisteredModel created;
  int64_t now = env_->NowMillis();
  RETURN_IF_ERROR(Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows existing,
                     db.Query("SELECT 1 FROM registered_models WHERE name = ?", {name}));
    if (!existing.empty()) {
      return AlreadyExists("Registered Model (name=" + name + ") already exists.");
    }
    SqlValue desc = description ? SqlValue(*description) : SqlValue();
    ASSIGN_OR_RETURN(SqlRows key, db.Query("INSERT INTO registered_models (name, description, "
                                           "creation_time, last_updated_time) VALUES (?, ?, ?, "
                                           "?) RETURNING model_key",
                                           {name, desc, now, now}));
    for (const KeyValue& t : unique_tags) {
      RETURN_IF_ERROR(UpsertTag(db, "registered_model_tags", "model_key", {key.Int(0, 0)}, t));
    }
    ASSIGN_OR_RETURN(created, LoadModel(db, key.Int(0, 0)));
    return Status::Ok();
  }));
  return created;
}

StatusOr<RegisteredModel> RegistryService::GetRegisteredModel(const std::string& name) {
  RegisteredModel model;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, name));
    ASSIGN_OR_RETURN(model, LoadModel(db, key));
    return Status::Ok();
  }));
  return model;
}

StatusOr<RegisteredModel> RegistryService::RenameRegisteredModel(const std::string& name,
                                                                 const std::string& new_name) {
  RETURN_IF_ERROR(ValidateRegisteredModelName(name));
  RETURN_IF_ERROR(ValidateRegisteredModelName(new_name, "new_name"));
  RegisteredModel renamed;
  int64_t now = env_->NowMillis();
  LoadedRules old_rules = RulesFor(name);
  LoadedRules new_rules = RulesFor(new_name);
  RETURN_IF_ERROR(Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, name));
    if (new_name != name) {
      ASSIGN_OR_RETURN(SqlRows taken,
                       db.Query("SELECT 1 FROM registered_models WHERE name = ?", {new_name}));
      if (!taken.empty()) {
        return AlreadyExists("Registered Model (name=" + new_name + ") already exists.");
      }
      RETURN_IF_ERROR(CheckRenameKeepsGuards(db, key, name, new_name, old_rules, new_rules));
    }
    RETURN_IF_ERROR(db.Execute("UPDATE registered_models SET name = ?, last_updated_time = ? "
                               "WHERE model_key = ?",
                               {new_name, now, key})
                        .status());
    RETURN_IF_ERROR(
        db.Execute("UPDATE model_versions SET last_updated_time = ? WHERE model_key = ?",
                   {now, key})
            .status());
    ASSIGN_OR_RETURN(renamed, LoadModel(db, key));
    return Status::Ok();
  }));
  return renamed;
}

StatusOr<RegisteredModel> RegistryService::UpdateRegisteredModel(
    const std::string& name, const std::optional<std::string>& description) {
  RETURN_IF_ERROR(ValidateDescription(description));
  RegisteredModel updated;
  int64_t now = env_->NowMillis();
  RETURN_IF_ERROR(Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, name));
    SqlValue desc = description ? SqlValue(*description) : SqlValue();
    RETURN_IF_ERROR(db.Execute("UPDATE registered_models SET description = ?, "
                               "last_updated_time = ? WHERE model_key = ?",
                               {desc, now, key})
                        .status());
    ASSIGN_OR_RETURN(updated, LoadModel(db, key));
    return Status::Ok();
  }));
  return updated;
}

Status RegistryService::DeleteRegisteredModel(const std::string& name) {
  LoadedRules rules = RulesFor(name);
  return Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, name));
    ASSIGN_OR_RETURN(auto held, HeldTargets(db, key));
    for (const auto& [version, target] : held) {
      RETURN_IF_ERROR(
          CheckChange(db, rules, Promotion::Kind::kLeave, name, version, target, Caller{}));
    }
    // The promotion history stays: a model registered later under this name
    // is held to the bar it set (see PromotionFacts).
    for (const char* table : {"registered_model_aliases", "model_version_tags", "model_versions",
                              "registered_model_tags", "registered_models"}) {
      RETURN_IF_ERROR(
          db.Execute(std::string("DELETE FROM ") + table + " WHERE model_key = ?", {key}).status());
    }
    return Status::Ok();
  });
}

StatusOr<RegisteredModelPage> RegistryService::SearchRegisteredModels(
    const SearchRequest& request) {
  ASSIGN_OR_RETURN(int64_t offset, tracking::ParsePageToken(request.page_token));
  ASSIGN_OR_RETURN(tracking::SqlQuery query,
                   BuildRegisteredModelSearch(request, store_->dialect(), offset));
  RegisteredModelPage page;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    std::vector<int64_t> keys;
    RETURN_IF_ERROR(db.ForEachRow(query.sql, query.params,
                                  [&](const store::SqlRow& row) { keys.push_back(row.Int(0)); }));
    bool more = static_cast<int64_t>(keys.size()) > request.max_results;
    if (more) keys.resize(static_cast<size_t>(request.max_results));
    ASSIGN_OR_RETURN(page.models, LoadModels(db, keys));
    page.next_page_token = tracking::NextPageToken(offset, keys.size(), more);
    return Status::Ok();
  }));
  return page;
}

StatusOr<std::vector<ModelVersion>> RegistryService::GetLatestVersions(
    const std::string& name, const std::vector<std::string>& stages) {
  std::vector<Stage> wanted;
  for (const std::string& s : stages) {
    ASSIGN_OR_RETURN(Stage stage, ParseStage(s));
    wanted.push_back(stage);
  }
  std::vector<ModelVersion> out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, name));
    ASSIGN_OR_RETURN(auto latest, LatestVersions(db, {key}));
    for (KeyedVersion& k : latest) {
      if (wanted.empty() ||
          std::find(wanted.begin(), wanted.end(), k.version.stage) != wanted.end()) {
        out.push_back(std::move(k.version));
      }
    }
    return Status::Ok();
  }));
  return out;
}

Status RegistryService::SetRegisteredModelTag(const std::string& name, const KeyValue& tag) {
  RETURN_IF_ERROR(ValidateRegistryTag(tag));
  return Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, name));
    return UpsertTag(db, "registered_model_tags", "model_key", {key}, tag);
  });
}

Status RegistryService::DeleteRegisteredModelTag(const std::string& name,
                                                 const std::string& key_name) {
  RETURN_IF_ERROR(tracking::ValidateKeyName("tag", key_name, /*allow_colon=*/true));
  return Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, name));
    return db
        .Execute("DELETE FROM registered_model_tags WHERE model_key = ? AND key = ?",
                 {key, key_name})
        .status();
  });
}

StatusOr<std::unique_ptr<PromotionRules>> RegistryService::RulesFor(const std::string& name) {
  if (gate_ == nullptr) return std::unique_ptr<PromotionRules>();
  return gate_->RulesFor(name);
}

Status RegistryService::SetAlias(const std::string& name, const std::string& alias,
                                 const std::string& version, const Caller& caller) {
  RETURN_IF_ERROR(ValidateAliasName(alias));
  // Read before the transaction; a broken policy refuses here.
  LoadedRules rules = RulesFor(name);
  RETURN_IF_ERROR(rules.status());
  int64_t now = env_->NowMillis();
  return Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(auto found, FindLiveVersion(db, name, version));
    std::string target = "alias:" + alias;
    RETURN_IF_ERROR(
        CheckChange(db, rules, Promotion::Kind::kEnter, name, found.second, target, caller));
    RETURN_IF_ERROR(db.Execute("INSERT INTO registered_model_aliases (model_key, alias, version) "
                               "VALUES (?, ?, ?) ON CONFLICT (model_key, alias) DO UPDATE SET "
                               "version = excluded.version",
                               {found.first, alias, found.second})
                        .status());
    return RecordPromotion(db, rules, found.first, name, target, found.second, now);
  });
}

Status RegistryService::DeleteAlias(const std::string& name, const std::string& alias) {
  if (alias.empty()) return InvalidArgument("Registered model alias name cannot be empty.");
  LoadedRules rules = RulesFor(name);
  return Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, name));
    ASSIGN_OR_RETURN(SqlRows holder, db.Query("SELECT version FROM registered_model_aliases WHERE "
                                              "model_key = ? AND alias = ?",
                                              {key, alias}));
    if (!holder.empty()) {
      RETURN_IF_ERROR(CheckChange(db, rules, Promotion::Kind::kLeave, name, holder.Int(0, 0),
                                  "alias:" + alias, Caller{}));
    }
    return db
        .Execute("DELETE FROM registered_model_aliases WHERE model_key = ? AND alias = ?",
                 {key, alias})
        .status();
  });
}

StatusOr<ModelVersion> RegistryService::GetVersionByAlias(const std::string& name,
                                                          const std::string& alias) {
  ModelUri uri;
  uri.name = name;
  // MLflow 3 answers "latest" with a version; Cairn's is the newest live
  // one (MLflow's is the lowest stage's newest, which is rarely meant).
  uri.kind = EqualsIgnoreCase(alias, "latest") ? ModelUri::Kind::kLatest : ModelUri::Kind::kAlias;
  uri.alias = alias;
  ModelVersion version;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    auto found = FindUriVersion(db, uri, "models:/" + name + "@" + alias);
    // MLflow says the alias is missing also when the model is.
    if (!found.ok() && uri.kind == ModelUri::Kind::kAlias) {
      return NotFound("Registered model alias " + alias + " not found.");
    }
    RETURN_IF_ERROR(found.status());
    version = std::move(found->version);
    return Status::Ok();
  }));
  return version;
}

StatusOr<ModelVersion> RegistryService::CreateModelVersion(
    const CreateModelVersionRequest& request) {
  RETURN_IF_ERROR(ValidateRegisteredModelName(request.name));
  if (request.source.empty()) {
    return InvalidArgument(
        "Missing value for required parameter 'source'. See the API docs for more information "
        "about request parameters.");
  }
  RETURN_IF_ERROR(ValidateTags(request.tags));
  RETURN_IF_ERROR(ValidateDescription(request.description));
  // Prompts (MLflow 3) are versions whose text lives in their tags; their
  // source is a marker ("prompt-template"), not a location.
  bool is_prompt = std::any_of(request.tags.begin(), request.tags.end(), [](const KeyValue& t) {
    return t.key == "mlflow.prompt.is_prompt";
  });
  bool model_uri_source = !is_prompt && IsModelUri(request.source);
  if (!is_prompt && !model_uri_source) RETURN_IF_ERROR(ValidateArtifactSource(request.source));
  std::vector<KeyValue> tags = LastOfEachKey(request.tags);
  int64_t now = env_->NowMillis();
  ModelVersion created;
  RETURN_IF_ERROR(Write([&](SqlSession& db) -> Status {
    std::string storage_location = request.source;
    std::string run_id = request.run_id;
    std::string model_id = request.model_id;
    // runs:/<id>/... for a run tracked elsewhere (a registry-only server, or
    // tracking on another one) is stored as given, as MLflow does; the gates
    // then fail naming the run they cannot judge, and lineage shows it as
    // not on this server.
    bool run_elsewhere = false;
    if (model_uri_source) {
      StatusOr<ModelUri> uri = ParseModelUri(request.source);
      if (uri.ok() && uri->kind == ModelUri::Kind::kRun) {
        ASSIGN_OR_RETURN(bool here, tracking::RunExists(db, uri->run_id));
        if (!here) {
          run_elsewhere = true;
          if (run_id.empty()) run_id = uri->run_id;
        }
      }
    }
    if (model_uri_source && !run_elsewhere) {
      ASSIGN_OR_RETURN(ResolvedModel resolved, Resolve(db, request.source));
      storage_location = resolved.artifact_uri;
      // The files' run is the run the gates judge: a different run_id
      // would have them judge a better run than the one that made the files.
      if (!run_id.empty() && !resolved.run_id.empty() && run_id != resolved.run_id) {
        return InvalidArgument("run_id '" + run_id + "' is not the run of source '" +
                               request.source + "' (" + resolved.run_id +
                               "); leave run_id out or give the source's own run.");
      }
      if (run_id.empty()) run_id = resolved.run_id;
      if (model_id.empty()) model_id = resolved.model_id;
      // runs:/<id>/./model must not name the files under another spelling,
      // which the checks on registered files match by location.
      if (HasScheme(storage_location)) RETURN_IF_ERROR(ValidateArtifactSource(storage_location));
    }
    storage_location = CanonicalScheme(storage_location);
    if (!run_id.empty()) RETURN_IF_ERROR(CheckRunOwnsLocation(db, run_id, storage_location));
    if (!model_id.empty()) {
      ASSIGN_OR_RETURN(tracking::LoggedModelLocation model,
                       tracking::FindLoggedModelLocation(db, model_id));
      if (run_id.empty()) run_id = model.source_run_id;
    }
    ASSIGN_OR_RETURN(int64_t key, FindModelKey(db, request.name));
    ASSIGN_OR_RETURN(SqlRows max, db.Query("SELECT COALESCE(MAX(version), 0) FROM model_versions "
                                           "WHERE model_key = ?",
                                           {key}));
    int64_t version = max.Int(0, 0) + 1;
    RETURN_IF_ERROR(
        db.Execute("INSERT INTO model_versions (model_key, version, creation_time, "
                   "last_updated_time, description, user_id, stage, deleted, source, "
                   "storage_location, run_id, run_link, model_id, status, status_message) VALUES "
                   "(?, ?, ?, ?, ?, ?, 'None', 0, ?, ?, ?, ?, ?, 'READY', '')",
                   {key, version, now, now, request.description.value_or(""), request.user_id,
                    request.source, storage_location, run_id, request.run_link, model_id})
            .status());
    for (const KeyValue& t : tags) {
      RETURN_IF_ERROR(UpsertTag(db, "model_version_tags", "model_key, version", {key, version}, t));
    }
    RETURN_IF_ERROR(Touch(db, key, now));
    ASSIGN_OR_RETURN(created, LoadVersion(db, key, version));
    return Status::Ok();
  }));
  return created;
}

StatusOr<ModelVersion> RegistryService::GetModelVersion(const std::string& name,
                                                        const std::string& version) {
  ModelVersion out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(auto found, FindLiveVersion(db, name, version));
    ASSIGN_OR_RETURN(out, LoadVersion(db, found.first, found.second));
    return Status::Ok();
  }));
  return out;
}

StatusOr<ModelVersion> RegistryService::UpdateModelVersion(
    const std::string& name, const std::string& version,
    const std::optional<std::string>& description) {
  RETURN_IF_ERROR(ValidateDescription(description));
  int64_t now = env_->NowMillis();
  ModelVersion out;
  RETURN_IF_ERROR(Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(auto found, FindLiveVersion(db, name, version));
    SqlValue desc = description ? SqlValue(*description) : SqlValue();
    RETURN_IF_ERROR(db.Execute("UPDATE model_versions SET description = ?, last_updated_time = ? "
                               "WHERE model_key = ? AND version = ?",
                               {desc, now, found.first, found.second})
                        .status());
    ASSIGN_OR_RETURN(out, LoadVersion(db, found.first, found.second));
    return Status::Ok();
  }));
  return out;
}

Status RegistryService::DeleteModelVersion(const std::string& name, const std::string& version) {
  int64_t now = env_->NowMillis();
  LoadedRules rules = RulesFor(name);
  return Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(auto found, FindLiveVersion(db, name, version));
    ASSIGN_OR_RETURN(auto held, HeldTargets(db, found.first));
    for (const auto& [holder, target] : held) {
      if (holder != found.second) continue;
      RETURN_IF_ERROR(
          CheckChange(db, rules, Promotion::Kind::kLeave, name, holder, target, Caller{}));
    }
    RETURN_IF_ERROR(db.Execute("UPDATE model_versions SET deleted = 1, last_updated_time = ? "
                               "WHERE model_key = ? AND version = ?",
                               {now, found.first, found.second})
                        .status());
    // MLflow leaves the version's aliases pointing at nothing; an alias
    // must always name a live version.
    RETURN_IF_ERROR(
        db.Execute("DELETE FROM registered_model_aliases WHERE model_key = ? AND version = ?",
                   {found.first, found.second})
            .status());
    return Touch(db, found.first, now);
  });
}

StatusOr<ModelVersion> RegistryService::TransitionStage(const std::string& name,
                                                        const std::string& version,
                                                        const std::string& stage_text,
                                                        bool archive_existing_versions,
                                                        const Caller& caller) {
  ASSIGN_OR_RETURN(Stage stage, ParseStage(stage_text));
  if (archive_existing_versions && stage != Stage::kStaging && stage != Stage::kProduction) {
    return InvalidArgument(
        "Model version transition cannot archive existing model versions because '" + stage_text +
        "' is not an Active stage. Valid stages are ['Staging', 'Production']");
  }
  int64_t now = env_->NowMillis();
  // Read before the transaction; a broken policy refuses here.
  LoadedRules rules = RulesFor(name);
  RETURN_IF_ERROR(rules.status());
  ModelVersion out;
  RETURN_IF_ERROR(Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(auto found, FindLiveVersion(db, name, version));
    std::string stage_name(StageName(stage));
    std::string target = "stage:" + stage_name;
    ASSIGN_OR_RETURN(
        SqlRows current,
        db.Query("SELECT stage FROM model_versions WHERE model_key = ? AND version = ?",
                 {found.first, found.second}));
    const std::string& from = current.Text(0, 0);
    // Leaving a guarded stage (archiving the incumbent, say) is a guarded
    // change of its own; entering one is judged against the incumbent. The
    // versions archive_existing_versions moves out are replaced by this
    // one, which the entry check judges.
    if (from != stage_name) {
      RETURN_IF_ERROR(CheckChange(db, rules, Promotion::Kind::kLeave, name, found.second,
                                  "stage:" + from, caller));
    }
    RETURN_IF_ERROR(
        CheckChange(db, rules, Promotion::Kind::kEnter, name, found.second, target, caller));
    if (archive_existing_versions) {
      RETURN_IF_ERROR(db.Execute("UPDATE model_versions SET stage = 'Archived', "
                                 "last_updated_time = ? WHERE model_key = ? AND version != ? AND "
                                 "deleted = 0 AND stage = ?",
                                 {now, found.first, found.second, stage_name})
                          .status());
    }
    RETURN_IF_ERROR(db.Execute("UPDATE model_versions SET stage = ?, last_updated_time = ? WHERE "
                               "model_key = ? AND version = ?",
                               {stage_name, now, found.first, found.second})
                        .status());
    if (stage != Stage::kNone && stage != Stage::kArchived) {
      RETURN_IF_ERROR(RecordPromotion(db, rules, found.first, name, target, found.second, now));
    }
    RETURN_IF_ERROR(Touch(db, found.first, now));
    ASSIGN_OR_RETURN(out, LoadVersion(db, found.first, found.second));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::string> RegistryService::GetDownloadUri(const std::string& name,
                                                      const std::string& version) {
  ASSIGN_OR_RETURN(ModelVersion v, GetModelVersion(name, version));
  return v.storage_location;
}

StatusOr<ModelVersionPage> RegistryService::SearchModelVersions(const SearchRequest& request) {
  ASSIGN_OR_RETURN(int64_t offset, tracking::ParsePageToken(request.page_token));
  ASSIGN_OR_RETURN(tracking::SqlQuery query,
                   BuildModelVersionSearch(request, store_->dialect(), offset));
  ModelVersionPage page;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    std::vector<std::pair<int64_t, int64_t>> keys;
    RETURN_IF_ERROR(db.ForEachRow(query.sql, query.params, [&](const store::SqlRow& row) {
      keys.emplace_back(row.Int(0), row.Int(1));
    }));
    bool more = static_cast<int64_t>(keys.size()) > request.max_results;
    if (more) keys.resize(static_cast<size_t>(request.max_results));
    // Load the page's versions by model, then put them in the search's order.
    std::vector<int64_t> model_keys;
    for (const auto& k : keys) model_keys.push_back(k.first);
    model_keys = Unique(std::move(model_keys));
    std::map<std::pair<int64_t, int64_t>, ModelVersion> loaded;
    for (size_t start = 0; start < model_keys.size(); start += kInChunk) {
      size_t n = std::min(kInChunk, model_keys.size() - start);
      std::vector<SqlValue> params(model_keys.begin() + static_cast<std::ptrdiff_t>(start),
                                   model_keys.begin() + static_cast<std::ptrdiff_t>(start + n));
      ASSIGN_OR_RETURN(
          auto rows,
          QueryVersions(db, "v.deleted = 0 AND v.model_key IN " + Placeholders(n), params));
      for (KeyedVersion& k : rows) {
        loaded[{k.model_key, k.version.version}] = std::move(k.version);
      }
    }
    for (const auto& k : keys) {
      auto it = loaded.find(k);
      if (it != loaded.end()) page.versions.push_back(std::move(it->second));
    }
    page.next_page_token = tracking::NextPageToken(offset, keys.size(), more);
    return Status::Ok();
  }));
  return page;
}

Status RegistryService::SetModelVersionTag(const std::string& name, const std::string& version,
                                           const KeyValue& tag) {
  RETURN_IF_ERROR(ValidateRegistryTag(tag));
  return Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(auto found, FindLiveVersion(db, name, version));
    return UpsertTag(db, "model_version_tags", "model_key, version", {found.first, found.second},
                     tag);
  });
}

Status RegistryService::DeleteModelVersionTag(const std::string& name, const std::string& version,
                                              const std::string& key) {
  RETURN_IF_ERROR(tracking::ValidateKeyName("tag", key, /*allow_colon=*/true));
  return Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(auto found, FindLiveVersion(db, name, version));
    return db
        .Execute("DELETE FROM model_version_tags WHERE model_key = ? AND version = ? AND key = ?",
                 {found.first, found.second, key})
        .status();
  });
}

StatusOr<int64_t> RegistryService::ModelKey(const std::string& name) {
  int64_t key = 0;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(key, FindModelKey(db, name));
    return Status::Ok();
  }));
  return key;
}

Status RegistryService::Write(const std::function<Status(SqlSession&)>& fn) {
  Status status = store_->Write(fn);
  if (status.ok()) changes_.fetch_add(1, std::memory_order_release);
  return status;
}

StatusOr<ResolvedModel> RegistryService::ResolveModelUri(const std::string& uri) {
  ResolvedModel out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(out, Resolve(db, uri));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<ModelVersion>> RegistryService::LiveVersionsAtLocations(
    const std::vector<std::string>& locations, const std::vector<std::string>& like_patterns) {
  if (locations.empty() && like_patterns.empty()) return std::vector<ModelVersion>{};
  std::string where = "v.deleted = 0 AND (";
  std::vector<SqlValue> params;
  if (!locations.empty()) {
    where += "v.storage_location IN (";
    for (size_t i = 0; i < locations.size(); ++i) {
      where += i == 0 ? "?" : ", ?";
      params.emplace_back(locations[i]);
    }
    where += ")";
  }
  for (const std::string& pattern : like_patterns) {
    where += params.empty() ? "" : " OR ";
    where += "v.storage_location LIKE ? ESCAPE '\\'";
    params.emplace_back(pattern);
  }
  where += ")";
  std::vector<ModelVersion> out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(auto rows, QueryVersions(db, where, params, "m.name, v.version"));
    for (KeyedVersion& row : rows) out.push_back(std::move(row.version));
    return Status::Ok();
  }));
  return out;
}

}  // namespace cairn::registry
