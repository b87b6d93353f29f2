#include "governance/promotion_service.h"

#include <algorithm>
#include <set>

#include "registry/entities.h"
#include "registry/registry_service.h"
#include "tracking/records.h"

namespace cairn::governance {

using store::SqlRows;
using store::SqlSession;
using store::SqlValue;

namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE promotion_requests (
  request_id {AUTO_PK},
  model_name TEXT NOT NULL,
  version BIGINT NOT NULL,
  target TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  created_time BIGINT NOT NULL,
  status TEXT NOT NULL
);
CREATE INDEX promotion_requests_by_move ON promotion_requests (model_name, version, target);
CREATE TABLE promotion_decisions (
  request_id BIGINT NOT NULL,
  user_name TEXT NOT NULL,
  approve INTEGER NOT NULL,
  comment TEXT NOT NULL,
  time BIGINT NOT NULL,
  PRIMARY KEY (request_id, user_name)
){CLUSTERED}
)sql";

// Requests name their model by key too: a request made for one model must
// not let a later model that takes its name (by rename, or deletion and
// re-registration) through. Requests from before this column have key 0 and
// match nothing; they are asked for again.
constexpr char kRequestModelKey[] = R"sql(
ALTER TABLE promotion_requests ADD COLUMN model_key BIGINT NOT NULL DEFAULT 0
)sql";

constexpr char kRequestColumns[] =
    "request_id, model_name, version, target, requested_by, created_time, status";

constexpr char kRemove[] = "remove:";

PromotionRequest RequestFromRow(const SqlRows& rows, size_t r) {
  PromotionRequest q;
  q.id = rows.Int(r, 0);
  q.model = rows.Text(r, 1);
  q.version = rows.Int(r, 2);
  q.target = rows.Text(r, 3);
  q.requested_by = rows.Text(r, 4);
  q.created_ms = rows.Int(r, 5);
  q.status = rows.Text(r, 6);
  return q;
}

Status LoadDecisions(SqlSession& db, PromotionRequest* q) {
  q->decisions.clear();
  return db.ForEachRow(
      "SELECT user_name, approve, comment, time FROM promotion_decisions WHERE request_id = ? "
      "ORDER BY time, user_name",
      std::vector<SqlValue>{q->id}, [&](const store::SqlRow& row) {
        q->decisions.push_back(
            {std::string(row.Text(0)), row.Int(1) != 0, std::string(row.Text(2)), row.Int(3)});
      });
}

StatusOr<PromotionRequest> LoadRequest(SqlSession& db, int64_t id) {
  ASSIGN_OR_RETURN(SqlRows rows, db.Query(std::string("SELECT ") + kRequestColumns +
                                              " FROM promotion_requests WHERE request_id = ?",
                                          {id}));
  if (rows.empty()) return NotFound("No promotion request " + std::to_string(id) + ".");
  PromotionRequest q = RequestFromRow(rows, 0);
  RETURN_IF_ERROR(LoadDecisions(db, &q));
  return q;
}

// Approvals that count: distinct users other than the requester.
int CountApprovals(const PromotionRequest& q) {
  std::set<std::string> users;
  for (const Decision& d : q.decisions) {
    if (d.approve && d.user != q.requested_by) users.insert(d.user);
  }
  return static_cast<int>(users.size());
}

bool IsRemoval(const std::string& target) { return target.rfind(kRemove, 0) == 0; }

// "stage:Production" for "remove:stage:Production" and for itself.
std::string BaseTarget(const std::string& target) {
  return IsRemoval(target) ? target.substr(sizeof(kRemove) - 1) : target;
}

std::string Describe(const std::string& target) {
  std::string base = BaseTarget(target);
  return base.rfind("alias:", 0) == 0 ? "alias '" + base.substr(6) + "'"
                                      : "stage " + base.substr(6);
}

// A policy loaded for the registry (registry::PromotionRules).
class PolicyRules : public registry::PromotionRules {
 public:
  PolicyRules(PromotionService* service, Policy policy)
      : service_(service), policy_(std::move(policy)) {}

  bool Guards(const std::string& target) const override { return policy_.Guards(target); }
  std::string Fingerprint() const override { return policy_.Fingerprint(); }
  std::string Describe() const override { return "policy " + policy_.source; }
  Status Allow(SqlSession& db, const registry::Promotion& promotion) const override {
    return service_->AllowUnder(db, policy_, promotion);
  }

 private:
  PromotionService* service_;
  Policy policy_;
};

}  // namespace

PromotionService::PromotionService(store::MetadataStore* store, Env* env, std::string policies_dir)
    : store_(store), env_(env), policies_dir_(std::move(policies_dir)) {}

Status PromotionService::Init() {
  std::vector<store::Migration> migrations = {
      store::DdlMigration(1, "promotion requests", kSchema),
      store::DdlMigration(2, "promotion requests name their model by key", kRequestModelKey)};
  return store_->Migrate("governance", migrations);
}

StatusOr<std::optional<Policy>> PromotionService::PolicyFor(const std::string& model) {
  auto policy = LoadPolicy(env_, policies_dir_, model);
  if (!policy.ok()) {
    // A policy that cannot be read guards nothing safely: refuse.
    return PermissionDenied("Refused: the policy is broken: " + policy.status().message() +
                            ". Fix the file in the policies folder (`cairn policies check` "
                            "lists every problem); until then no stage or alias of '" +
                            model + "' may change.");
  }
  return policy;
}

StatusOr<std::unique_ptr<registry::PromotionRules>> PromotionService::RulesFor(
    const std::string& model) {
  ASSIGN_OR_RETURN(std::optional<Policy> policy, PolicyFor(model));
  if (!policy) return std::unique_ptr<registry::PromotionRules>();
  return std::unique_ptr<registry::PromotionRules>(
      std::make_unique<PolicyRules>(this, std::move(*policy)));
}

StatusOr<Evaluation> PromotionService::EvaluateIn(SqlSession& db, const Policy& policy,
                                                  const registry::Promotion& p,
                                                  std::optional<int64_t>* request_id) {
  Evaluation out;
  if (!policy.Guards(p.target)) return out;
  out.policy = policy.source;
  bool leaving = p.kind == registry::Promotion::Kind::kLeave;
  // Giving a target up has no candidate to judge: only approvals count.
  if (!leaving) {
    ASSIGN_OR_RETURN(auto candidate, tracking::LatestRunMetrics(db, p.candidate_run));
    std::optional<std::map<std::string, double>> incumbent;
    if (p.incumbent) {
      ASSIGN_OR_RETURN(incumbent, tracking::LatestRunMetrics(db, p.incumbent_run));
    }
    // Metric values are shown only from runs the caller may read: a gate
    // must not become a way to read a hidden run.
    auto readable = [&](const std::string& run) {
      return !p.may_read_run || run.empty() || p.may_read_run(run);
    };
    bool show_candidate = readable(p.candidate_run);
    bool show_incumbent = !p.incumbent || readable(p.incumbent_run);
    std::string baseline = p.incumbent_is_last_promoted ? "last promoted" : "production";
    // A version registered from a run tracked elsewhere (or from no run)
    // has no metrics here: every gate fails, naming why.
    std::string unjudged;
    if (p.candidate_run.empty()) {
      unjudged = "the version names no run, so there are no metrics to judge";
    } else {
      ASSIGN_OR_RETURN(bool here, tracking::RunExists(db, p.candidate_run));
      if (!here) {
        unjudged = "the candidate's run " + p.candidate_run +
                   " is not on this server, so its metrics cannot be judged (register the "
                   "version from a run tracked here)";
      }
    }
    for (const Gate& gate : policy.gates) {
      GateResult result = unjudged.empty()
                              ? governance::Evaluate(gate, candidate, incumbent, baseline)
                              : GateResult{false, unjudged};
      bool relative = !gate.baseline_metric.empty();
      if (unjudged.empty() && (!show_candidate || (relative && !show_incumbent))) {
        result.explanation =
            gate.metric + (result.passed ? " passes" : " fails") + " (values not shown: the " +
            (!show_candidate ? std::string("candidate's") : baseline + " version's") +
            " run is not readable by you)";
      }
      if (!result.passed) {
        out.missing.push_back("gate '" + gate.text + "' failed (" + result.explanation + ")");
      }
      out.gates.emplace_back(gate.text, std::move(result));
    }
  }
  out.approvals_needed = policy.approvals;
  std::string target = leaving ? kRemove + p.target : p.target;
  // The newest open request for exactly this move, made for this model (by
  // key) after this version existed.
  ASSIGN_OR_RETURN(SqlRows rows,
                   db.Query(std::string("SELECT ") + kRequestColumns +
                                " FROM promotion_requests WHERE model_name = ? AND model_key = ? "
                                "AND version = ? AND target = ? AND created_time >= ? AND status "
                                "IN ('pending', 'approved') ORDER BY request_id DESC LIMIT 1",
                            {p.model, p.model_key, p.version, target, p.version_created_ms}));
  if (!rows.empty()) {
    PromotionRequest q = RequestFromRow(rows, 0);
    RETURN_IF_ERROR(LoadDecisions(db, &q));
    out.approvals = CountApprovals(q);
    if (request_id != nullptr) *request_id = q.id;
  }
  if (out.approvals < out.approvals_needed) {
    std::string how;
    if (!rows.empty()) {
      how = " (request " + std::to_string(RequestFromRow(rows, 0).id) + ")";
    } else if (leaving) {
      bool alias = p.target.rfind("alias:", 0) == 0;
      how = "; open a removal request: POST /api/cairn/v1/promotions {\"name\": \"" + p.model +
            "\", \"version\": " + std::to_string(p.version) + ", \"" + (alias ? "alias" : "stage") +
            "\": \"" + p.target.substr(6) + "\", \"remove\": true}";
    } else {
      how = "; open a request: cairn promotions request " + p.model + " " +
            std::to_string(p.version) +
            (p.target.rfind("alias:", 0) == 0 ? " --alias " : " --stage ") + p.target.substr(6) +
            " (or POST /api/cairn/v1/promotions)";
    }
    out.missing.push_back("needs " + std::to_string(out.approvals_needed) +
                          " approval(s) from distinct approvers other than the requester, has " +
                          std::to_string(out.approvals) + how);
  }
  return out;
}

Status PromotionService::AllowUnder(SqlSession& db, const Policy& policy,
                                    const registry::Promotion& p) {
  std::optional<int64_t> request_id;
  ASSIGN_OR_RETURN(Evaluation evaluation, EvaluateIn(db, policy, p, &request_id));
  if (!evaluation.missing.empty()) {
    bool leaving = p.kind == registry::Promotion::Kind::kLeave;
    std::string message =
        leaving ? "Moving " + Describe(p.target) + " away from " + p.model + " version " +
                      std::to_string(p.version) +
                      " (a transition out of it, archiving, or deleting the alias, the version "
                      "or the model) is blocked by policy " +
                      evaluation.policy + ": "
                : "Promotion of " + p.model + " version " + std::to_string(p.version) + " to " +
                      Describe(p.target) + " is blocked by policy " + evaluation.policy + ": ";
    for (size_t i = 0; i < evaluation.missing.size(); ++i) {
      message += (i > 0 ? "; " : "") + evaluation.missing[i];
    }
    return PermissionDenied(message + ".");
  }
  if (request_id) {
    RETURN_IF_ERROR(db.Execute("UPDATE promotion_requests SET status = 'applied' WHERE "
                               "request_id = ?",
                               {*request_id})
                        .status());
  }
  return Status::Ok();
}

StatusOr<PromotionRequest> PromotionService::Request(const std::string& model, int64_t version,
                                                     const std::string& stage,
                                                     const std::string& alias,
                                                     const std::string& user, bool remove) {
  if (stage.empty() == alias.empty()) {
    return InvalidArgument("Name exactly one of 'stage' and 'alias' for the promotion.");
  }
  std::string target;
  if (!stage.empty()) {
    ASSIGN_OR_RETURN(registry::Stage parsed, registry::ParseStage(stage));
    target = "stage:" + std::string(registry::StageName(parsed));
  } else {
    RETURN_IF_ERROR(registry::ValidateAliasName(alias));
    target = "alias:" + alias;
  }
  int64_t now = env_->NowMillis();
  PromotionRequest created;
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    // The version must exist (and is what the gates will judge).
    ASSIGN_OR_RETURN(registry::Promotion facts,
                     registry::PromotionFacts(db, model, version, target));
    ASSIGN_OR_RETURN(SqlRows id,
                     db.Query("INSERT INTO promotion_requests (model_name, model_key, version, "
                              "target, requested_by, created_time, status) VALUES (?, ?, ?, ?, "
                              "?, ?, 'pending') RETURNING request_id",
                              {model, facts.model_key, version,
                               (remove ? std::string(kRemove) : "") + target, user, now}));
    ASSIGN_OR_RETURN(created, LoadRequest(db, id.Int(0, 0)));
    return Status::Ok();
  }));
  return created;
}

StatusOr<PromotionRequest> PromotionService::Decide(int64_t id, const std::string& user,
                                                    bool approve, const std::string& comment) {
  int64_t now = env_->NowMillis();
  // The policy is read before the write transaction, for the model the
  // request names (which a request never changes).
  ASSIGN_OR_RETURN(PromotionRequest before, Get(id));
  ASSIGN_OR_RETURN(std::optional<Policy> policy, PolicyFor(before.model));
  PromotionRequest decided;
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(PromotionRequest q, LoadRequest(db, id));
    if (q.status != "pending") {
      return FailedPrecondition("Promotion request " + std::to_string(id) + " is " + q.status +
                                "; only pending requests take decisions.");
    }
    if (!user.empty() && user == q.requested_by) {
      return FailedPrecondition("User '" + user + "' requested promotion " + std::to_string(id) +
                                " and cannot decide it: another approver must.");
    }
    RETURN_IF_ERROR(db.Execute("INSERT INTO promotion_decisions (request_id, user_name, approve, "
                               "comment, time) VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id, "
                               "user_name) DO UPDATE SET approve = excluded.approve, comment = "
                               "excluded.comment, time = excluded.time",
                               {id, user, int64_t{approve ? 1 : 0}, comment, now})
                        .status());
    RETURN_IF_ERROR(LoadDecisions(db, &q));
    std::string status = "pending";
    if (!approve) {
      status = "rejected";
    } else {
      int needed = policy ? policy->approvals : 0;
      if (CountApprovals(q) >= needed) status = "approved";
    }
    RETURN_IF_ERROR(
        db.Execute("UPDATE promotion_requests SET status = ? WHERE request_id = ?", {status, id})
            .status());
    q.status = status;
    decided = std::move(q);
    return Status::Ok();
  }));
  return decided;
}

StatusOr<PromotionRequest> PromotionService::Get(int64_t id) {
  PromotionRequest out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(out, LoadRequest(db, id));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<PromotionRequest>> PromotionService::List(const std::string& model) {
  std::vector<PromotionRequest> out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(
        SqlRows rows,
        model.empty()
            ? db.Query(std::string("SELECT ") + kRequestColumns +
                       " FROM promotion_requests ORDER BY request_id DESC LIMIT 1000")
            : db.Query(std::string("SELECT ") + kRequestColumns +
                           " FROM promotion_requests WHERE model_name = ? ORDER BY request_id "
                           "DESC LIMIT 1000",
                       {model}));
    for (size_t r = 0; r < rows.size(); ++r) {
      PromotionRequest q = RequestFromRow(rows, r);
      RETURN_IF_ERROR(LoadDecisions(db, &q));
      out.push_back(std::move(q));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<Evaluation> PromotionService::Evaluate(const PromotionRequest& request,
                                                const registry::RunVisibility& may_read_run) {
  ASSIGN_OR_RETURN(std::optional<Policy> policy, PolicyFor(request.model));
  Evaluation out;
  if (!policy) return out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    std::string target = BaseTarget(request.target);
    ASSIGN_OR_RETURN(registry::Promotion p,
                     registry::PromotionFacts(db, request.model, request.version, target,
                                              policy->Fingerprint()));
    if (IsRemoval(request.target)) p.kind = registry::Promotion::Kind::kLeave;
    p.may_read_run = may_read_run;
    ASSIGN_OR_RETURN(out, EvaluateIn(db, *policy, p, nullptr));
    return Status::Ok();
  }));
  return out;
}

}  // namespace cairn::governance
