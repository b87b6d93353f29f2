// RegistryService: the model registry (registered models, numbered
// versions, stages, aliases, tags, search) with MLflow's semantics and
// messages, on any MetadataStore. Spec: docs/research/mlflow-model-registry.md.
//
// Every mutation is one atomic MetadataStore::Write; validation happens
// before anything is written, so a rejected request changes nothing.
// Versions are numbered per model and never reused while the model exists.
// Where MLflow is wrong (dangling aliases after a version is deleted, 500s for
// client errors, `latest` meaning the lowest stage's winner), Cairn does the
// right thing; each such place says so.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "registry/entities.h"
#include "registry/model_uri.h"
#include "registry/promotion_gate.h"
#include "store/metadata_store.h"

namespace cairn::registry {

struct CreateModelVersionRequest {
  std::string name;
  std::string source;
  std::string run_id;
  std::vector<KeyValue> tags;
  std::string run_link;
  std::optional<std::string> description;
  std::string model_id;
  std::string user_id;
};

struct SearchRequest {
  std::string filter;
  int64_t max_results = 100;
  std::vector<std::string> order_by;
  std::string page_token;
  // Registered model names the caller may not see: left out by the query.
  std::vector<std::string> hidden;
};

struct RegisteredModelPage {
  std::vector<RegisteredModel> models;
  std::string next_page_token;
};

struct ModelVersionPage {
  std::vector<ModelVersion> versions;
  std::string next_page_token;
};

// What a model URI names, resolved.
struct ResolvedModel {
  std::string artifact_uri;             // Where its files are.
  std::optional<ModelVersion> version;  // For registry URIs.
  std::string model_id;                 // For logged models (and versions made from one).
  std::string run_id;                   // The run that produced it, if known.
};

// Who asks for a change, as far as the promotion gate needs to know:
// approvals are counted for `user`, and gate messages show only the metrics
// of runs `may_read_run` allows (all when null).
struct Caller {
  std::string user;  // "" without authentication.
  RunVisibility may_read_run;
};

inline constexpr int64_t kMaxRegisteredModelSearchResults = 1000;
inline constexpr int64_t kMaxModelVersionSearchResults = 200000;

class RegistryService {
 public:
  // `store` and `env` must outlive the service.
  RegistryService(store::MetadataStore* store, Env* env);

  // Applies the registry's schema migrations. Call once at start, after the
  // tracking schema (versions link to runs and logged models).
  Status Init();

  // Errors common to the methods below: NotFound "Registered Model with
  // name=<n> not found" or "Model Version (name=<n>, version=<v>) not found";
  // InvalidArgument naming the field for bad input.

  // Errors: AlreadyExists "Registered Model (name=<n>) already exists." (the
  // MLflow client's register_model relies on exactly this code).
  StatusOr<RegisteredModel> CreateRegisteredModel(const std::string& name,
                                                  const std::optional<std::string>& description,
                                                  const std::vector<KeyValue>& tags);
  StatusOr<RegisteredModel> GetRegisteredModel(const std::string& name);
  // Versions, tags and aliases follow the model. Errors: AlreadyExists.
  //
  // Promotion policies are keyed by model name, so a rename can move a model
  // from one policy to another. When the two names are governed by different
  // rules, the rename is refused (PermissionDenied naming what is held) while
  // the model holds a stage or alias that either name's rules guard:
  // otherwise a model could be renamed to an ungoverned name, promoted there
  // and renamed back (or renamed away from its policy to give up a guarded
  // stage without approvals). With nothing guarded held, a rename carries
  // nothing past a gate: whatever the model later takes under its new name
  // goes through that name's rules, and renaming back is then refused.
  StatusOr<RegisteredModel> RenameRegisteredModel(const std::string& name,
                                                  const std::string& new_name);
  // Sets the description (absent clears it, as MLflow 3 does).
  StatusOr<RegisteredModel> UpdateRegisteredModel(const std::string& name,
                                                  const std::optional<std::string>& description);
  // Deletes the model with every version, tag and alias; its version numbers
  // start again at 1 if the name is registered anew. Giving up a guarded
  // stage or alias this way needs the policy's approvals (see SetAlias).
  Status DeleteRegisteredModel(const std::string& name);
  StatusOr<RegisteredModelPage> SearchRegisteredModels(const SearchRequest& request);
  // The newest live version in each of `stages` (all four when empty).
  StatusOr<std::vector<ModelVersion>> GetLatestVersions(const std::string& name,
                                                        const std::vector<std::string>& stages);
  Status SetRegisteredModelTag(const std::string& name, const KeyValue& tag);
  // Deleting a tag the model lacks is not an error (MLflow).
  Status DeleteRegisteredModelTag(const std::string& name, const std::string& key);

  // Points `alias` at a live version, moving it if it pointed elsewhere.
  // `caller` is who asks (for the promotion gate's approvals and messages).
  // With a promotion gate, a guarded alias must pass its policy, and so must
  // every change that gives a guarded stage or alias up without another
  // version taking it (DeleteAlias, DeleteModelVersion,
  // DeleteRegisteredModel, a transition out of the stage): that needs the
  // policy's approvals, asked for with a removal request. Errors:
  // PermissionDenied from the gate, or for a policy file that cannot be read.
  Status SetAlias(const std::string& name, const std::string& alias, const std::string& version,
                  const Caller& caller = {});
  // Deleting an alias that does not exist is not an error (MLflow).
  Status DeleteAlias(const std::string& name, const std::string& alias);
  // "latest" (any case) is the newest live version. Errors: NotFound
  // "Registered model alias <a> not found." (MLflow answers 400 here).
  StatusOr<ModelVersion> GetVersionByAlias(const std::string& name, const std::string& alias);

  // Numbers the version max(every version ever, deleted too) + 1, status
  // READY. The source may be an artifact URI (with run_id), models:/m-<id>
  // (the logged model's files; run_id and model_id follow from it), another
  // models:/ URI or runs:/<run>/<path> (resolved now). Local paths, NUL and
  // '.'/'..' segments are refused. Errors: NotFound for an unknown
  // registered model, logged model, run or source version.
  StatusOr<ModelVersion> CreateModelVersion(const CreateModelVersionRequest& request);
  // `version` as the client sent it (a decimal string).
  StatusOr<ModelVersion> GetModelVersion(const std::string& name, const std::string& version);
  StatusOr<ModelVersion> UpdateModelVersion(const std::string& name, const std::string& version,
                                            const std::optional<std::string>& description);
  // Hides the version (its number stays taken) and deletes its aliases.
  Status DeleteModelVersion(const std::string& name, const std::string& version);
  // With archive_existing_versions, the model's other versions in the target
  // stage (Staging or Production only) move to Archived in the same commit.
  StatusOr<ModelVersion> TransitionStage(const std::string& name, const std::string& version,
                                         const std::string& stage, bool archive_existing_versions,
                                         const Caller& caller = {});
  // The artifact location of the version's files.
  StatusOr<std::string> GetDownloadUri(const std::string& name, const std::string& version);
  StatusOr<ModelVersionPage> SearchModelVersions(const SearchRequest& request);
  Status SetModelVersionTag(const std::string& name, const std::string& version,
                            const KeyValue& tag);
  Status DeleteModelVersionTag(const std::string& name, const std::string& version,
                               const std::string& key);

  // The registered model's internal key (stable across renames): what other
  // components key their per-version records by. Errors: NotFound.
  StatusOr<int64_t> ModelKey(const std::string& name);

  // Changes committed through this service so far (versions, stages,
  // aliases, models): a cheap signal for watchers (serving follows aliases)
  // to re-resolve model URIs. Changes made by other processes sharing the
  // store are not counted; watchers also re-check on a slower period.
  uint64_t change_count() const { return changes_.load(std::memory_order_acquire); }

  // Resolves any model URI (see model_uri.h) to where its files are.
  StatusOr<ResolvedModel> ResolveModelUri(const std::string& uri);

  // Live versions whose storage_location equals one of `locations` or
  // matches one of `like_patterns` (SQL LIKE, escape character '\'), ordered by name
  // and version: one query, for callers that must know whether a path holds
  // a registered version's files (the artifact routes).
  StatusOr<std::vector<ModelVersion>> LiveVersionsAtLocations(
      const std::vector<std::string>& locations, const std::vector<std::string>& like_patterns);

  // From now on, changes to guarded stages and aliases must pass `gate`
  // (see promotion_gate.h for which changes those are).
  // REQUIRES: called before serving; `gate` outlives the service.
  void SetPromotionGate(PromotionGate* gate) { gate_ = gate; }

 private:
  // The rules governing `name`, read before the transaction that applies
  // them; null without a gate or a policy.
  StatusOr<std::unique_ptr<PromotionRules>> RulesFor(const std::string& name);

  // store_->Write, counting the change once it committed.
  Status Write(const std::function<Status(store::SqlSession&)>& fn);

  store::MetadataStore* store_;
  Env* env_;
  PromotionGate* gate_ = nullptr;
  std::atomic<uint64_t> changes_{0};
};

// The registered model `name` as compact JSON (description, tags, aliases,
// every version with its stage, source and run), read in `db`'s transaction:
// the audit log's before/after for registry changes. "{}" if there is none.
StatusOr<std::string> DescribeModelState(store::SqlSession& db, const std::string& name);

// What a gate needs to judge `version` of `name` taking `target`
// ("stage:<Stage>" or "alias:<alias>"): the candidate's run and what it is
// compared with (the holder now, else the version last promoted to the
// target under this name or under rules with fingerprint `rules`; aliases
// in any case). `kind` is kEnter. Errors: NotFound for an unknown live
// version, InvalidArgument for a malformed target.
StatusOr<Promotion> PromotionFacts(store::SqlSession& db, const std::string& name, int64_t version,
                                   const std::string& target, const std::string& rules = "");

// MLflow's rules for names and tags in the registry.
// A registered model name: non-empty, at most 256 bytes, no '/' (it could not
// be addressed as models:/<name>/<version>) and no control characters.
Status ValidateRegisteredModelName(const std::string& name, const char* field = "name");
// Alias names: [A-Za-z0-9_-], 1..255, and not "latest" or "v<digits>" (those
// already mean something in a models:/ URI).
Status ValidateAliasName(const std::string& alias);
// Tag keys as MLflow 3 (letters, digits, _ - . / space :, no path escapes,
// at most 250), values up to 100,000 characters.
Status ValidateRegistryTag(const KeyValue& tag);

}  // namespace cairn::registry
