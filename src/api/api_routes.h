// Cairn's own REST API under /api/cairn/v1/: what MLflow's protocol has no
// words for (route listings now; approvals, audit and lineage as they land).
// JSON in and out; errors use the same {"error_code", "message"} body as the
// MLflow surface, so one client-side handler reads both.
#pragma once

#include "audit/audit_log.h"
#include "governance/promotion_service.h"
#include "lineage/lineage_service.h"
#include "mlflow/access.h"

namespace cairn::api {

// GET /api/cairn/v1/routes (admins): every registered route with what it
//   requires, so an operator (and the access test) can audit them.
// GET /api/cairn/v1/audit?after=N&limit=M (admins): audit entries, oldest
//   first; GET /api/cairn/v1/audit/verify (admins): the chain's check.
// Promotions (the registry's approval workflow, see governance/):
//   POST /api/cairn/v1/promotions {name, version, stage | alias} (model edit)
//   GET  /api/cairn/v1/promotions?name=N (model read)
//   GET  /api/cairn/v1/promotions/{request_id} (model read): with where the
//        move stands against its policy (gates, approvals, what is missing)
//   POST /api/cairn/v1/promotions/{request_id}/approve|reject {comment}
//        (role approver, model read)
// GET /api/cairn/v1/lineage?uri=models:/name/3 (model read): the version's
//   lineage graph, {"root", "nodes": [...], "edges": [...]}.
// `surface.router()`, `audit`, `promotions` and `lineage` must outlive the server.
void RegisterApiRoutes(const surface::Surface& surface, audit::AuditLog* audit,
                       governance::PromotionService* promotions, lineage::LineageService* lineage);

}  // namespace cairn::api
