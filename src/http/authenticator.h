// Authenticator: tells the HTTP server who sent a request, from its headers,
// before any handler runs. The server answers 401 itself when it fails, so
// no handler can forget to check. What a known user may do is decided later,
// by the protocol surface that understands the request (see
// auth/access_policy.h).
//
// Thread-safety: implementations are safe to call concurrently.
#pragma once

#include "core/status.h"
#include "http/http_types.h"

namespace cairn::http {

class Authenticator {
 public:
  virtual ~Authenticator() = default;

  enum class Result {
    kAuthenticated,  // request.user and request.role are set.
    kRejected,       // No or bad credentials; *error says why (Unauthenticated).
    kNeedsBlocking,  // Cannot tell without blocking: call AuthenticateBlocking.
  };
  // Runs on an IO thread: must not block (no password hashing, no database).
  virtual Result AuthenticateFast(HttpRequest& request, Status* error) = 0;
  // May block (password hashing, a database read). Sets request.user/role.
  // Errors: Unauthenticated.
  virtual Status AuthenticateBlocking(HttpRequest& request) = 0;
};

}  // namespace cairn::http
