// Who may call which MLflow endpoint: each route declares the resource its
// request names (an experiment, run, logged model or registered model, read
// from the request's arguments) and the level it needs, or a minimum role.
// The surface checks it with the AccessPolicy after parsing the arguments
// and before the handler touches the store. Searches are open to every
// user, and exclude what the user may not read inside their query.
//
// Thread-safety: values.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/access_policy.h"
#include "core/status.h"
#include "http/http_types.h"
#include "http/router.h"
#include "store/write_context.h"
#include "surface/surface.h"

namespace cairn::mlflow {

class RequestArgs;

struct RouteAccess {
  enum class Kind {
    kRole,             // A minimum role (creating experiments and registered models).
    kExperiment,       // experiment_id (or `field`).
    kExperimentName,   // experiment_name.
    kExperimentList,   // experiment_ids: every one of them.
    kRun,              // run_id / run_uuid.
    kRunList,          // run_ids: every one of them.
    kLoggedModel,      // The path's {model_id}.
    kRegisteredModel,  // name (or `field`).
    kSearch,           // Any user; the handler hides what the user may not read.
  };
  Kind kind = Kind::kSearch;
  auth::Level level = auth::Level::kRead;
  auth::Role role = auth::Role::kViewer;
  std::string field;

  static RouteAccess Role(auth::Role role);
  static RouteAccess Experiment(auth::Level level, std::string field = "experiment_id");
  static RouteAccess ExperimentName(auth::Level level);
  static RouteAccess Experiments(auth::Level level);
  static RouteAccess Run(auth::Level level);
  static RouteAccess Runs(auth::Level level, std::string field = "run_ids");
  static RouteAccess LoggedModel(auth::Level level);
  static RouteAccess Model(auth::Level level);
  static RouteAccess Search();

  // "experiment edit", "role editor", ... (route listings, messages).
  std::string Describe() const;
};

// OK when the request's sender may make it. Errors: PermissionDenied from
// the policy; the argument errors a handler would give for a missing id.
Status CheckAccess(const surface::Surface& surface, const RouteAccess& rule,
                   const RequestArgs& args, const http::HttpRequest& request);

// The audit context for a request that changes something (any method but
// GET, under a rule of edit or more, or a role): who, what, which resource
// and the request itself; registry changes also record the model's state
// before and after. Null for reads, which are not audited.
std::shared_ptr<const store::WriteContext> AuditContext(const RouteAccess& rule,
                                                        const RequestArgs& args,
                                                        const http::HttpRequest& request);

// What a search must leave out for this request's sender (empty without auth).
StatusOr<std::vector<std::string>> Unreadable(const surface::Surface& surface,
                                              const http::HttpRequest& request,
                                              auth::ResourceKind kind);

}  // namespace cairn::mlflow
