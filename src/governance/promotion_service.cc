#include "governance/promotion_service.h"

#include <algorithm>
#include <set>

#include "registry/entities.h"
#include "registry/registry_service.h"
#include "tracking/lookups.h"

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

constexpr char kRequestColumns[] =
    "request_id, model_name, version, target, requested_by, created_time, status";

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

std::string Describe(const std::string& target) {
  return target.rfind("alias:", 0) == 0 ? "alias '" + target.substr(6) + "'"
                                        : "stage " + target.substr(6);
}

}  // namespace

PromotionService::PromotionService(store::MetadataStore* store, Env* env, std::string policies_dir)
    : store_(store), env_(env), policies_dir_(std::move(policies_dir)) {}

Status PromotionService::Init() {
  std::vector<store::Migration> migrations = {
      store::DdlMigration(1, "promotion requests", kSchema)};
  return store_->Migrate("governance", migrations);
}

StatusOr<Evaluation> PromotionService::EvaluateIn(SqlSession& db, const registry::Promotion& p,
                                                  std::optional<int64_t>* request_id) {
  Evaluation out;
  ASSIGN_OR_RETURN(std::optional<Policy> policy, LoadPolicy(policies_dir_, p.model));
  if (!policy || !policy->Guards(p.target)) return out;
  out.policy = policy->source;
  ASSIGN_OR_RETURN(auto candidate, tracking::LatestRunMetrics(db, p.candidate_run));
  std::optional<std::map<std::string, double>> incumbent;
  if (p.incumbent) {
    ASSIGN_OR_RETURN(incumbent, tracking::LatestRunMetrics(db, p.incumbent_run));
  }
  for (const Gate& gate : policy->gates) {
    GateResult result = governance::Evaluate(gate, candidate, incumbent);
    if (!result.passed) {
      out.missing.push_back("gate '" + gate.text + "' failed (" + result.explanation + ")");
    }
    out.gates.emplace_back(gate.text, std::move(result));
  }
  out.approvals_needed = policy->approvals;
  // The newest open request for exactly this move.
  ASSIGN_OR_RETURN(SqlRows rows,
                   db.Query(std::string("SELECT ") + kRequestColumns +
                                " FROM promotion_requests WHERE model_name = ? AND version = ? "
                                "AND target = ? AND status IN ('pending', 'approved') ORDER BY "
                                "request_id DESC LIMIT 1",
                            {p.model, p.version, p.target}));
  if (!rows.empty()) {
    PromotionRequest q = RequestFromRow(rows, 0);
    RETURN_IF_ERROR(LoadDecisions(db, &q));
    out.approvals = CountApprovals(q);
    if (request_id != nullptr) *request_id = q.id;
  }
  if (out.approvals < out.approvals_needed) {
    out.missing.push_back(
        "needs " + std::to_string(out.approvals_needed) +
        " approval(s) from distinct approvers other than the requester, has " +
        std::to_string(out.approvals) +
        (rows.empty() ? "; open a request: cairn promotions request " + p.model + " " +
                            std::to_string(p.version) +
                            (p.target.rfind("alias:", 0) == 0 ? " --alias " : " --stage ") +
                            p.target.substr(6) + " (or POST /api/cairn/v1/promotions)"
                      : " (request " + std::to_string(RequestFromRow(rows, 0).id) + ")"));
  }
  return out;
}

Status PromotionService::Allow(SqlSession& db, const registry::Promotion& p) {
  std::optional<int64_t> request_id;
  auto evaluation = EvaluateIn(db, p, &request_id);
  if (!evaluation.ok()) {
    // A policy that cannot be read guards nothing safely: refuse.
    if (evaluation.status().code() == StatusCode::kInvalidArgument) {
      return PermissionDenied("Promotion refused: the policy is broken: " +
                              evaluation.status().message());
    }
    return evaluation.status();
  }
  if (!evaluation->missing.empty()) {
    std::string message = "Promotion of " + p.model + " version " + std::to_string(p.version) +
                          " to " + Describe(p.target) + " is blocked by policy " +
                          evaluation->policy + ": ";
    for (size_t i = 0; i < evaluation->missing.size(); ++i) {
      message += (i > 0 ? "; " : "") + evaluation->missing[i];
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
                                                     const std::string& user) {
  if (stage.empty() == alias.empty()) {
    return InvalidArgument("Name exactly one of 'stage' and 'alias' for the promotion.");
  }
  std::string target;
  if (!stage.empty()) {
    ASSIGN_OR_RETURN(registry::Stage parsed, registry::ParseStage(stage));
    target = "stage:" + std::string(registry::StageName(parsed));
  } else {
    target = "alias:" + alias;
  }
  int64_t now = env_->NowMillis();
  PromotionRequest created;
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) -> Status {
    // The version must exist (and is what the gates will judge).
    RETURN_IF_ERROR(registry::PromotionFacts(db, model, version, target).status());
    ASSIGN_OR_RETURN(SqlRows id,
                     db.Query("INSERT INTO promotion_requests (model_name, version, target, "
                              "requested_by, created_time, status) VALUES (?, ?, ?, ?, ?, "
                              "'pending') RETURNING request_id",
                              {model, version, target, user, now}));
    ASSIGN_OR_RETURN(created, LoadRequest(db, id.Int(0, 0)));
    return Status::Ok();
  }));
  return created;
}

StatusOr<PromotionRequest> PromotionService::Decide(int64_t id, const std::string& user,
                                                    bool approve, const std::string& comment) {
  int64_t now = env_->NowMillis();
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
      ASSIGN_OR_RETURN(std::optional<Policy> policy, LoadPolicy(policies_dir_, q.model));
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

StatusOr<Evaluation> PromotionService::Evaluate(const PromotionRequest& request) {
  Evaluation out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(registry::Promotion p,
                     registry::PromotionFacts(db, request.model, request.version, request.target));
    ASSIGN_OR_RETURN(out, EvaluateIn(db, p, nullptr));
    return Status::Ok();
  }));
  return out;
}

}  // namespace cairn::governance
