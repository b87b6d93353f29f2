#include "feast/feast_json.h"

#include "auth/http_authenticator.h"
#include "surface/surface.h"

namespace cairn::feast {
namespace {

http::HttpResponse DetailResponse(int http_status, std::string_view message) {
  json::Buffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  json::WriteKey(w, "detail");
  json::WriteString(w, message);
  w.EndObject();
  return http::HttpResponse::Json(http_status, buffer.GetString());
}

}  // namespace

http::HttpResponse ErrorFormat::FromStatus(const Status& error) const {
  return DetailResponse(http::HttpStatusOf(error.code()), error.message());
}

http::HttpResponse ErrorFormat::Local(int http_status, http::LocalReason,
                                      std::string_view message) const {
  return DetailResponse(http_status, message);
}

const ErrorFormat& ErrorFormat::Get() {
  static const ErrorFormat format;
  return format;
}

http::HttpResponse ErrorResponse(const Status& status) {
  return ErrorFormat::Get().FromStatus(status);
}

StatusOr<json::Document> ParseBody(const http::HttpRequest& request) {
  json::Document doc;
  RETURN_IF_ERROR(json::Parse(request.body, &doc));
  if (!doc.IsObject()) return InvalidArgument("request body must be a JSON object");
  return doc;
}

StatusOr<std::vector<std::string>> StringList(const json::Value& doc, const char* field) {
  std::vector<std::string> out;
  auto it = doc.FindMember(field);
  if (it == doc.MemberEnd() || it->value.IsNull()) return out;
  if (!it->value.IsArray())
    return InvalidArgument(std::string(field) + ": expected a list of strings");
  for (const json::Value& v : it->value.GetArray()) {
    if (!v.IsString()) return InvalidArgument(std::string(field) + ": expected a list of strings");
    out.emplace_back(v.GetString(), v.GetStringLength());
  }
  return out;
}

StatusOr<std::string> OptionalString(const json::Value& doc, const char* field) {
  auto it = doc.FindMember(field);
  if (it == doc.MemberEnd() || it->value.IsNull()) return std::string();
  if (!it->value.IsString()) return InvalidArgument(std::string(field) + ": expected a string");
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

StatusOr<bool> OptionalBool(const json::Value& doc, const char* field, bool fallback) {
  auto it = doc.FindMember(field);
  if (it == doc.MemberEnd() || it->value.IsNull()) return fallback;
  if (!it->value.IsBool()) return InvalidArgument(std::string(field) + ": expected true or false");
  return it->value.GetBool();
}

StatusOr<features::Frame> DecodeFrame(const json::Value& doc, const char* field) {
  auto df = doc.FindMember(field);
  if (df == doc.MemberEnd() || !df->value.IsObject()) {
    return InvalidArgument(std::string(field) +
                           ": expected a map of column names to lists of values");
  }
  features::Frame frame{.field = field};
  for (const auto& member : df->value.GetObject()) {
    std::string name(member.name.GetString(), member.name.GetStringLength());
    if (!member.value.IsArray()) {
      return InvalidArgument(frame.field + "." + name + ": expected a list");
    }
    std::vector<features::FrameValue> values;
    values.reserve(member.value.Size());
    for (const json::Value& v : member.value.GetArray()) {
      if (v.IsNull()) {
        values.emplace_back(std::monostate{});
      } else if (v.IsBool()) {
        values.emplace_back(v.GetBool());
      } else if (v.IsInt64()) {
        values.emplace_back(v.GetInt64());
      } else if (v.IsNumber()) {
        values.emplace_back(v.GetDouble());
      } else if (v.IsString()) {
        values.emplace_back(std::string(v.GetString(), v.GetStringLength()));
      } else {
        return InvalidArgument(frame.field + "." + name + "[" + std::to_string(values.size()) +
                               "]: expected a number, string, boolean or null");
      }
    }
    frame.columns.emplace_back(std::move(name), std::move(values));
  }
  return frame;
}

Status RequireEditor(auth::AccessPolicy* access, const http::HttpRequest& request) {
  if (access == nullptr) return Status::Ok();
  return access->RequireRole(auth::IdentityOf(request), auth::Role::kEditor);
}

Status AuditWrite(audit::AuditLog* audit, const http::HttpRequest& request, std::string target) {
  return audit->Append(*surface::RequestAuditContext(request, std::move(target), request.body));
}

}  // namespace cairn::feast
