// PromotionGate: what must hold before a model version may take a guarded
// stage (Production) or alias (champion), or give one up. Governance
// implements it (policies with metric gates and approvals); without a gate
// every move is allowed, as in MLflow.
//
// The registry asks in two steps. Before its write transaction it loads the
// rules that govern a model name (PromotionGate::RulesFor): policy files are
// read and validated there, outside any transaction, and a broken one fails
// the request before anything is written. Inside the transaction that would
// make the change it asks those rules (PromotionRules::Allow), so a passing
// check and the change commit together.
//
// What counts as a guarded change, so that no sequence of allowed calls
// reaches a guarded state around the gates and approvals:
//   - entering a guarded stage or alias (transition, set alias);
//   - leaving one (transition out of it, archiving, deleting the alias, the
//     version holding it, or the model), which needs the policy's approvals;
//   - renaming a model that holds a stage or alias guarded under either name
//     when the two names are governed by different rules (see
//     RegistryService::RenameRegisteredModel).
//
// Thread-safety: implementations are safe to call concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "store/metadata_store.h"

namespace cairn::registry {

// Whether the caller may read the run `run_id` (its experiment). Null means
// every run: no authentication, or a local administrator.
using RunVisibility = std::function<bool(const std::string& run_id)>;

struct Promotion {
  enum class Kind {
    kEnter,  // `version` takes `target`.
    kLeave,  // `version` gives `target` up (and nothing takes it in the same change).
  };
  Kind kind = Kind::kEnter;
  std::string model;      // Registered model name.
  int64_t model_key = 0;  // Its internal key (stable across renames).
  int64_t version = 0;    // The candidate (kEnter) or the holder (kLeave).
  int64_t version_created_ms = 0;
  std::string target;         // "stage:Production" or "alias:champion".
  std::string candidate_run;  // The version's run id ("" if none).
  // What the candidate is judged against: the version holding the target now
  // (the newest in the stage; for aliases, whichever spelling of it), or,
  // when nothing else holds it, the version last promoted to it under this
  // name or under the same rules. Without this fallback, moving the
  // incumbent away would make "no incumbent" pass.
  std::optional<int64_t> incumbent;
  std::string incumbent_run;
  bool incumbent_is_last_promoted = false;  // The target is empty now.
  std::string user;                         // Who asks ("" without authentication).
  RunVisibility may_read_run;               // What gate messages may show.
};

// The rules that govern one registered model name, loaded before a
// transaction and used inside it.
class PromotionRules {
 public:
  virtual ~PromotionRules() = default;
  // Whether `target` ("stage:Production", "alias:champion") is guarded.
  // Aliases match whatever their case: no spelling gets around a policy.
  virtual bool Guards(const std::string& target) const = 0;
  // Equal for rules that guard and gate exactly alike (whichever file they
  // come from); never empty.
  virtual std::string Fingerprint() const = 0;
  // For messages: "policy churn.yaml".
  virtual std::string Describe() const = 0;
  // OK to make the change. Errors: PermissionDenied listing every unmet
  // requirement and how to meet it. May write (mark an approval used) in
  // `db`. REQUIRES: Guards(promotion.target).
  virtual Status Allow(store::SqlSession& db, const Promotion& promotion) const = 0;
};

class PromotionGate {
 public:
  virtual ~PromotionGate() = default;
  // The rules for the registered model `model`, read and validated now;
  // null when nothing guards it. Errors: PermissionDenied naming a policy
  // file that cannot be read or parsed (the change is refused rather than
  // let through unguarded).
  virtual StatusOr<std::unique_ptr<PromotionRules>> RulesFor(const std::string& model) = 0;
};

}  // namespace cairn::registry
