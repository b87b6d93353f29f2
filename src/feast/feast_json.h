// What the feature store's HTTP routes share: their error body, request
// decoding with messages that name the field, and the editor check.
// Internal to the feast component.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "auth/access_policy.h"
#include "core/json.h"
#include "core/status.h"
#include "features/online_writer.h"
#include "http/error_format.h"
#include "http/http_types.h"

namespace cairn::feast {

// Feast's error shape: `{"detail": "<message>"}`, as FastAPI (Feast's
// feature server) answers HTTPExceptions, for handlers' errors and for the
// server's own answers on Feast routes (401, 404, 413, ...). 4xx for client
// errors (http::HttpStatusOf).
class ErrorFormat : public http::ErrorFormat {
 public:
  std::string_view protocol() const override { return "feast"; }
  http::HttpResponse FromStatus(const Status& error) const override;
  http::HttpResponse Local(int http_status, http::LocalReason reason,
                           std::string_view message) const override;
  static const ErrorFormat& Get();
};

// ErrorFormat::Get().FromStatus(status).
http::HttpResponse ErrorResponse(const Status& status);

// Errors: InvalidArgument when the body is not a JSON object.
StatusOr<json::Document> ParseBody(const http::HttpRequest& request);

// A list of strings at `field` (empty when absent or null).
StatusOr<std::vector<std::string>> StringList(const json::Value& doc, const char* field);
// A string at `field` ("" when absent or null).
StatusOr<std::string> OptionalString(const json::Value& doc, const char* field);
// A boolean at `field` (`fallback` when absent or null).
StatusOr<bool> OptionalBool(const json::Value& doc, const char* field, bool fallback);

// A map of column names to lists of JSON scalars at `field` (Feast's `df`),
// named `field` in errors.
StatusOr<features::Frame> DecodeFrame(const json::Value& doc, const char* field);

// Ok when there are no users (`access` null) or the caller is an editor.
Status RequireEditor(auth::AccessPolicy* access, const http::HttpRequest& request);

// Records a write the feature routes are about to make outside the metadata
// store: the caller, the route, `target` (e.g. "feature_view driver_stats")
// and the request body (bounded). Errors: the audit log's; the write must
// then not be made.
Status AuditWrite(audit::AuditLog* audit, const http::HttpRequest& request, std::string target);

}  // namespace cairn::feast
