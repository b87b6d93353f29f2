// Surface: one protocol family's routes under construction (MLflow, Feast,
// Cairn's API, next the inference protocols). A surface knows where its
// routes go, who may call them (the access policy, null without users) and
// its error shape; every route added through it is answered in that shape,
// also when the server refuses a request before the handler runs (401, 413,
// 405, ...). The component that owns a protocol registers its routes with a
// surface; only `main` decides which listener a surface's router serves.
//
// Thread-safety: used during start-up only, from one thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "auth/access_policy.h"
#include "http/error_format.h"
#include "http/router.h"
#include "store/write_context.h"

namespace cairn::surface {

class Surface {
 public:
  // `router` and `errors` must outlive the server; `access` may be null (no
  // users: everyone may call everything).
  Surface(http::Router& router, auth::AccessPolicy* access, const http::ErrorFormat& errors)
      : router_(router), access_(access), errors_(&errors) {}

  // Adds a route answered in this surface's error shape. REQUIRES: as
  // Router::Add.
  void Add(std::string method, std::string pattern, http::Handler handler,
           http::RouteOptions options = {}) const;
  void AddAsync(std::string method, std::string pattern, http::AsyncHandler handler,
                http::RouteOptions options = {}) const;
  // Unknown paths under `prefix` are answered in this surface's shape.
  void ClaimPrefix(std::string prefix) const { router_.ClaimPrefix(std::move(prefix), errors_); }

  // The same surface, answering in another protocol's shape (a family that
  // shares a router and access policy, such as Feast's routes beside MLflow's).
  Surface WithErrors(const http::ErrorFormat& errors) const {
    return Surface(router_, access_, errors);
  }

  http::Router& router() const { return router_; }
  auth::AccessPolicy* access() const { return access_; }
  const http::ErrorFormat& errors() const { return *errors_; }

 private:
  http::Router& router_;
  auth::AccessPolicy* access_;
  const http::ErrorFormat* errors_;
};

// The audit entry for `request`, which changes `target` (e.g. "artifact
// 1/<run>/artifacts/model.pkl"): who sent it, its method and path, and
// `details` (bounded: the body, or what stands for it). Every surface's
// entries start from it.
std::shared_ptr<store::WriteContext> RequestAuditContext(const http::HttpRequest& request,
                                                         std::string target,
                                                         std::string_view details);

}  // namespace cairn::surface
