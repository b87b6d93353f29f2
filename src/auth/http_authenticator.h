// The HTTP server's Authenticator backed by AuthService: credentials from
// the Authorization header, verified once and then served from the cache.
//
// Thread-safety: safe to call concurrently.
#pragma once

#include "auth/auth_service.h"
#include "http/authenticator.h"

namespace cairn::auth {

class HttpAuthenticator : public http::Authenticator {
 public:
  // `service` must outlive this object.
  explicit HttpAuthenticator(AuthService* service) : service_(service) {}

  Result AuthenticateFast(http::HttpRequest& request, Status* error) override;
  Status AuthenticateBlocking(http::HttpRequest& request) override;

 private:
  AuthService* service_;
};

// The identity the server's Authenticator attached to a request.
Identity IdentityOf(const http::HttpRequest& request);

}  // namespace cairn::auth
