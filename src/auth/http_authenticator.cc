#include "auth/http_authenticator.h"

namespace cairn::auth {

http::Authenticator::Result HttpAuthenticator::AuthenticateFast(http::HttpRequest& request,
                                                                Status* error) {
  std::string_view authorization = request.Header("authorization");
  if (authorization.empty()) {
    *error = Unauthenticated(
        "This server requires authentication. Send HTTP Basic credentials "
        "(MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) or an API token "
        "(MLFLOW_TRACKING_TOKEN).");
    return Result::kRejected;
  }
  std::optional<Identity> cached = service_->CachedIdentity(authorization);
  if (!cached) return Result::kNeedsBlocking;
  request.user = cached->user;
  request.role = std::string(RoleName(cached->role));
  return Result::kAuthenticated;
}

Status HttpAuthenticator::AuthenticateBlocking(http::HttpRequest& request) {
  ASSIGN_OR_RETURN(Identity identity, service_->Authenticate(request.Header("authorization")));
  request.user = identity.user;
  request.role = std::string(RoleName(identity.role));
  return Status::Ok();
}

Identity IdentityOf(const http::HttpRequest& request) {
  Identity identity;
  identity.user = request.user;
  auto role = ParseRole(request.role);
  identity.role = role.ok() ? *role : Role::kViewer;
  return identity;
}

}  // namespace cairn::auth
