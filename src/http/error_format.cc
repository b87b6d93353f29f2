#include "http/error_format.h"

#include <string>

#include "core/log.h"  // AppendJsonEscaped

namespace cairn::http {

int HttpStatusOf(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

namespace {

HttpResponse PlainError(int http_status, std::string_view message) {
  std::string body = "{\"error\":\"";
  AppendJsonEscaped(message, &body);
  body += "\"}";
  return HttpResponse::Json(http_status, std::move(body));
}

}  // namespace

HttpResponse PlainErrorFormat::FromStatus(const Status& error) const {
  return PlainError(HttpStatusOf(error.code()), error.message());
}

HttpResponse PlainErrorFormat::Local(int http_status, LocalReason, std::string_view message) const {
  return PlainError(http_status, message);
}

const PlainErrorFormat& PlainErrorFormat::Get() {
  static const PlainErrorFormat format;
  return format;
}

}  // namespace cairn::http
