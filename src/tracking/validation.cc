#include "tracking/validation.h"

#include <cctype>
#include <vector>

#include "tracking/entities.h"

namespace cairn::tracking {
namespace {

bool IsNameChar(unsigned char c) {
  // MLflow: ^[/\w.\- ]*$ where \w is Unicode-aware; accept any non-ASCII byte.
  return std::isalnum(c) || c == '_' || c == '/' || c == '.' || c == '-' || c == ' ' || c >= 0x80;
}

// posixpath.normpath, enough to tell whether a name resolves to another.
std::string NormPath(std::string_view path) {
  if (path.empty()) return ".";
  bool absolute = path.front() == '/';
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(pos, slash - pos);
    if (seg.empty() || seg == ".") {
    } else if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.emplace_back("..");
      }
    } else {
      parts.emplace_back(seg);
    }
    pos = slash + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += "/";
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

}  // namespace

bool IsValidRunStatus(const std::string& status) {
  return status == "RUNNING" || status == "SCHEDULED" || status == "FINISHED" ||
         status == "FAILED" || status == "KILLED";
}

Status ValidateKeyName(std::string_view kind, std::string_view name, bool allow_colon) {
  std::string label = kind == "metric" ? "metric" : kind == "tag" ? "tag" : "parameter";
  for (char c : name) {
    if (!IsNameChar(static_cast<unsigned char>(c)) && !(allow_colon && c == ':')) {
      return InvalidArgument(
          "Invalid " + label + " name: '" + std::string(name) +
          "'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
          "spaces ( ), " +
          (allow_colon ? "colon(:) " : "") + "and slashes (/).");
    }
  }
  std::string norm = NormPath(name);
  if (norm != name || norm == "." || norm.rfind("..", 0) == 0 || norm.rfind('/', 0) == 0) {
    return InvalidArgument("Invalid " + label + " name: '" + std::string(name) +
                           "'. Names may be treated as files in certain cases, and must not "
                           "resolve to other names when treated as such. This name would resolve "
                           "to '" +
                           norm + "'");
  }
  std::string entity = kind == "metric" ? "Metric name" : kind == "tag" ? "Tag key" : "Param key";
  return ValidateLength(entity, kMaxEntityKeyLength, name);
}

Status ValidateLength(std::string_view entity, size_t limit, std::string_view value) {
  if (value.size() <= limit) return Status::Ok();
  return InvalidArgument(std::string(entity) + " '" + std::string(value.substr(0, 250)) +
                         "' had length " + std::to_string(value.size()) +
                         ", which exceeded length limit of " + std::to_string(limit));
}

Status ValidateBatchLimit(std::string_view entity, size_t limit, size_t count) {
  if (count <= limit) return Status::Ok();
  std::string e(entity);
  return InvalidArgument("A batch logging request can contain at most " + std::to_string(limit) +
                         " " + e + ". Got " + std::to_string(count) + " " + e +
                         ". Please split up " + e + " across multiple requests and try again.");
}

Status ValidateExperimentName(std::string_view name) {
  if (name.empty()) return InvalidArgument("Invalid experiment name: ''");
  return Status::Ok();
}

Status ValidateRunId(std::string_view run_id) {
  bool ok = !run_id.empty() && run_id.size() <= 256 &&
            std::isalnum(static_cast<unsigned char>(run_id[0]));
  for (char c : run_id) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  }
  if (!ok) return InvalidArgument("Invalid run ID: '" + std::string(run_id) + "'");
  return Status::Ok();
}

Status ValidateParam(const KeyValue& param) {
  RETURN_IF_ERROR(ValidateKeyName("param", param.key));
  return ValidateLength("Param value", kMaxParamValueLength, param.value);
}

Status ValidateTag(const KeyValue& tag) {
  RETURN_IF_ERROR(ValidateKeyName("tag", tag.key));
  return ValidateLength("Tag value", kMaxTagValueLength, tag.value);
}

}  // namespace cairn::tracking
