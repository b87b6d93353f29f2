// PromotionService: promotion requests and approvals, and the registry's
// PromotionGate that enforces the policies (policy.h).
//
// Moving a version into a guarded stage or onto a guarded alias (through
// MLflow's transition-stage or alias calls, or any other path) succeeds only
// when every gate passes on the candidate's run metrics and, if the policy
// asks for approvals, a request for exactly that move has approvals from
// that many distinct users other than its requester. Giving a guarded stage
// or alias up (archiving the incumbent, deleting the alias, the version or
// the model) needs the same approvals, on a removal request ("remove:"
// before the target). The move then marks the request applied in the same
// commit. Otherwise the move fails with PERMISSION_DENIED listing what is
// missing and how to get it. Requests belong to the model (its key, so a
// rename or a re-created name does not inherit them) and to versions made
// before them.
//
// Gate messages show metric values only from runs the caller may read.
//
// Who may approve (role approver or admin) is for the caller to check; this
// service records who did.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "governance/policy.h"
#include "registry/promotion_gate.h"
#include "store/metadata_store.h"

namespace cairn::governance {

struct Decision {
  std::string user;
  bool approve = false;
  std::string comment;
  int64_t time_ms = 0;
};

struct PromotionRequest {
  int64_t id = 0;
  std::string model;
  int64_t version = 0;
  // "stage:Production", "alias:champion", or either after "remove:" for
  // giving it up.
  std::string target;
  std::string requested_by;
  int64_t created_ms = 0;
  std::string status;  // pending, approved, rejected, applied.
  std::vector<Decision> decisions;
};

// Where a move stands against its policy right now.
struct Evaluation {
  std::string policy;  // The file, or "" when no policy guards the move.
  std::vector<std::pair<std::string, GateResult>> gates;  // (gate text, verdict)
  int approvals_needed = 0;
  int approvals = 0;
  std::vector<std::string> missing;  // Empty: the move is allowed.
};

class PromotionService : public registry::PromotionGate {
 public:
  // `store` and `env` must outlive the service; policies are read from
  // `policies_dir` at each check, so edits apply without a restart.
  PromotionService(store::MetadataStore* store, Env* env, std::string policies_dir);

  Status Init();

  // Opens a request for `version` of `model` to take `target` (`stage` or
  // `alias`: exactly one non-empty), or with `remove` to give it up.
  // Errors: NotFound for an unknown model version; InvalidArgument for a bad
  // target.
  StatusOr<PromotionRequest> Request(const std::string& model, int64_t version,
                                     const std::string& stage, const std::string& alias,
                                     const std::string& user, bool remove = false);
  // An approver's decision. A rejection closes the request; enough
  // approvals make it approved. Errors: NotFound; FailedPrecondition when it
  // is not pending, or `user` requested it (nobody approves their own).
  StatusOr<PromotionRequest> Decide(int64_t id, const std::string& user, bool approve,
                                    const std::string& comment);
  StatusOr<PromotionRequest> Get(int64_t id);
  // Newest first; all models when `model` is empty.
  StatusOr<std::vector<PromotionRequest>> List(const std::string& model);
  // The request's move against its policy, as the registry would judge it
  // now. Gate explanations show values only from runs `may_read_run` allows
  // (all when null).
  StatusOr<Evaluation> Evaluate(const PromotionRequest& request,
                                const registry::RunVisibility& may_read_run = nullptr);

  // registry::PromotionGate.
  StatusOr<std::unique_ptr<registry::PromotionRules>> RulesFor(const std::string& model) override;

  // Allow for `policy`, the rules RulesFor returned: OK, or PermissionDenied
  // listing what is missing. Marks a matching request applied.
  Status AllowUnder(store::SqlSession& db, const Policy& policy,
                    const registry::Promotion& promotion);

 private:
  StatusOr<Evaluation> EvaluateIn(store::SqlSession& db, const Policy& policy,
                                  const registry::Promotion& promotion,
                                  std::optional<int64_t>* request_id);
  // The policy for `model`, or PermissionDenied naming the broken file.
  StatusOr<std::optional<Policy>> PolicyFor(const std::string& model);

  store::MetadataStore* store_;
  Env* env_;
  std::string policies_dir_;
};

}  // namespace cairn::governance
