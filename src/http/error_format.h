// ErrorFormat: how one protocol family (MLflow, Feast, Cairn's API, KServe
// v2, ...) words its errors, in one place. The server answers some requests
// itself, before or instead of a handler (no such path, bad credentials, a
// body over the limit, broken framing): it asks the format of the route the
// request was meant for, so a Feast client gets FastAPI's `{"detail": ...}`
// and an MLflow client gets `{"error_code": ..., "message": ...}` for the
// same kind of refusal. Handlers of a family turn their Status errors into
// responses through the same object. Modelled on Envoy's local replies
// (source/common/local_reply/).
//
// Thread-safety: implementations are immutable and safe from any thread.
#pragma once

#include <string_view>

#include "core/status.h"
#include "http/http_types.h"

namespace cairn::http {

// Why the server answered a request itself. Protocol neutral: each format
// picks its own words (MLflow: ENDPOINT_NOT_FOUND for kNoRoute, ...).
enum class LocalReason {
  kNoRoute,           // No endpoint at the path (404).
  kMethodNotAllowed,  // The path exists under other methods (405).
  kUnauthenticated,   // Missing or bad credentials (401).
  kOverloaded,        // Too busy to check credentials now; retry (429).
  kForbidden,         // Refused by the request guard: Host or Origin (403).
  kInvalidRequest,    // The request's declared form is wrong (400: content type).
  kMalformed,         // Broken HTTP framing or headers (400, 431, 501).
  kTooLarge,          // The body exceeds the server's limit (413).
  kMissingFile,       // A file the answer names is gone (404).
  kInternal,          // A handler failed or the server could not store the body (500).
};

class ErrorFormat {
 public:
  virtual ~ErrorFormat() = default;

  // The protocol family's name in listings: "mlflow", "feast", "plain".
  virtual std::string_view protocol() const = 0;

  // The response for an error a handler of this family returns: the HTTP
  // status this protocol gives the code, and its body.
  virtual HttpResponse FromStatus(const Status& error) const = 0;

  // The response for an answer the server gives itself; `http_status` is
  // the server's choice (404, 401, 413, ...), `message` says why and what to
  // change. Headers such as Allow and WWW-Authenticate are added by the server.
  virtual HttpResponse Local(int http_status, LocalReason reason,
                             std::string_view message) const = 0;
};

// `{"error": "<message>"}`: the shape of the KServe v2 / Triton inference
// protocols, and of listeners that name no protocol family. HTTP statuses as
// HttpStatusOf.
class PlainErrorFormat : public ErrorFormat {
 public:
  std::string_view protocol() const override { return "plain"; }
  HttpResponse FromStatus(const Status& error) const override;
  HttpResponse Local(int http_status, LocalReason reason, std::string_view message) const override;

  // One shared instance (stateless).
  static const PlainErrorFormat& Get();
};

// The HTTP status most protocols give a Status code: 400 invalid argument,
// 401, 403, 404, 409 exists or wrong state, 429 exhausted, 501, 503, 500.
int HttpStatusOf(StatusCode code);

}  // namespace cairn::http
