// What the feature store's HTTP routes share: their error body, request
// decoding with messages that name the field, and the editor check.
// Internal to the feast component.
#pragma once

#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "auth/access_policy.h"
#include "core/json.h"
#include "core/status.h"
#include "features/online_writer.h"
#include "http/http_types.h"

namespace cairn::feast {

// {"error_code", "message", "detail"}: `detail` as FastAPI (Feast's server)
// words it, error_code/message as the rest of Cairn; 4xx for client errors.
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
