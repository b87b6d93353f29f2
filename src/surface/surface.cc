#include "surface/surface.h"

#include "audit/audit_log.h"

namespace cairn::surface {

void Surface::Add(std::string method, std::string pattern, http::Handler handler,
                  http::RouteOptions options) const {
  options.errors = errors_;
  router_.Add(std::move(method), std::move(pattern), std::move(handler), std::move(options));
}

void Surface::AddAsync(std::string method, std::string pattern, http::AsyncHandler handler,
                       http::RouteOptions options) const {
  options.errors = errors_;
  router_.AddAsync(std::move(method), std::move(pattern), std::move(handler), std::move(options));
}

std::shared_ptr<store::WriteContext> RequestAuditContext(const http::HttpRequest& request,
                                                         std::string target,
                                                         std::string_view details) {
  auto context = std::make_shared<store::WriteContext>();
  context->user = request.user;
  context->action = request.method + " " + request.path;
  context->target = std::move(target);
  context->request = audit::BoundedRequest(details);
  return context;
}

}  // namespace cairn::surface
