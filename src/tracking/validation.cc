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

std::optional<size_t> FindInvalidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The ranges of RFC 3629's table: the second byte's bounds exclude
    // overlong forms (E0, F0), surrogates (ED) and values past U+10FFFF (F4).
    size_t len = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (n - i < len || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::nullopt;
}

size_t Utf8Length(std::string_view text) {
  size_t chars = 0;
  for (char c : text) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return chars;
}

std::string_view Utf8Prefix(std::string_view text, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && chars++ == max_chars) {
      return text.substr(0, i);
    }
  }
  return text;
}

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
  if (value.size() <= limit) return Status::Ok();  // Never more characters than bytes.
  size_t chars = Utf8Length(value);
  if (chars <= limit) return Status::Ok();
  return InvalidArgument(std::string(entity) + " '" + std::string(Utf8Prefix(value, 250)) +
                         "' had length " + std::to_string(chars) +
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
  if (name.size() > kMaxExperimentNameLength && Utf8Length(name) > kMaxExperimentNameLength) {
    return InvalidArgument("'name' exceeds the maximum length of " +
                           std::to_string(kMaxExperimentNameLength) + " characters");
  }
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
