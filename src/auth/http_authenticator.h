// The HTTP server's Authenticator backed by AuthService: credentials from
// the Authorization header, verified once and then served from the cache.
//
// Authentication follows the store, not the start-up state: while no user
// exists every request passes as an anonymous admin (the open loopback
// default), and from the moment one exists (added by `cairn users add` to a
// running server, seen within AuthService's 5-second bound) credentials are
// required. Password checks that would hash reserve a place in the
// service's bounded queue on the IO thread, so a burst of guesses is
// refused there instead of filling the worker pool.
//
// Thread-safety: safe to call concurrently.
#pragma once

#include <mutex>
#include <unordered_set>

#include "auth/auth_service.h"
#include "core/mutex.h"
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
  Mutex mu_;
  // Requests AuthenticateFast reserved a password check for; the server
  // calls AuthenticateBlocking on the same request next, which gives the
  // place back.
  std::unordered_set<const http::HttpRequest*> admitted_ GUARDED_BY(mu_);
};

// The identity the server's Authenticator attached to a request.
Identity IdentityOf(const http::HttpRequest& request);

}  // namespace cairn::auth
