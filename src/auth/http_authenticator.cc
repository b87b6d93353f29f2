#include "auth/http_authenticator.h"

namespace cairn::auth {
namespace {

constexpr char kSendCredentials[] =
    "This server requires authentication. Send HTTP Basic credentials "
    "(MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) or an API token "
    "(MLFLOW_TRACKING_TOKEN).";

// No users: nobody signs in, and the access checks let everything through,
// as they did before authentication existed.
void SetAnonymous(http::HttpRequest& request) {
  request.user.clear();
  request.role = std::string(RoleName(Role::kAdmin));
}

}  // namespace

http::Authenticator::Result HttpAuthenticator::AuthenticateFast(http::HttpRequest& request,
                                                                Status* error) {
  std::optional<bool> required = service_->CachedAuthRequired();
  if (!required) return Result::kNeedsBlocking;
  if (!*required) {
    SetAnonymous(request);
    return Result::kAuthenticated;
  }
  std::string_view authorization = request.Header("authorization");
  if (authorization.empty()) {
    *error = Unauthenticated(kSendCredentials);
    return Result::kRejected;
  }
  std::optional<Identity> cached = service_->CachedIdentity(authorization);
  if (cached) {
    request.user = cached->user;
    request.role = std::string(RoleName(cached->role));
    return Result::kAuthenticated;
  }
  bool admitted = false;
  if (Status admit = service_->AdmitLogin(authorization, request.remote_address, &admitted);
      !admit.ok()) {
    *error = std::move(admit);
    return Result::kRejected;
  }
  if (admitted) {
    MutexLock lock(&mu_);
    admitted_.insert(&request);
  }
  return Result::kNeedsBlocking;
}

Status HttpAuthenticator::AuthenticateBlocking(http::HttpRequest& request) {
  bool admitted = false;
  {
    MutexLock lock(&mu_);
    admitted = admitted_.erase(&request) > 0;
  }
  // Whatever happens below, the reserved place is given back.
  struct Leave {
    AuthService* service;
    bool admitted;
    ~Leave() {
      if (admitted) service->EndLogin();
    }
  } leave{service_, admitted};

  ASSIGN_OR_RETURN(bool required, service_->AuthRequired());
  if (!required) {
    SetAnonymous(request);
    return Status::Ok();
  }
  std::string_view authorization = request.Header("authorization");
  if (authorization.empty()) return Unauthenticated(kSendCredentials);
  ASSIGN_OR_RETURN(Identity identity,
                   service_->Authenticate(authorization, request.remote_address));
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
