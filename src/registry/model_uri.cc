#include "registry/model_uri.h"

#include <algorithm>
#include <vector>

#include "core/strings.h"

namespace cairn::registry {
namespace {

constexpr std::string_view kModelsScheme = "models:";
constexpr std::string_view kRunsScheme = "runs:";

Status BadModelsUri(std::string_view uri) {
  return InvalidArgument("Not a proper models:/ URI: '" + std::string(uri) +
                         "'. Use models:/<name>/<version>, models:/<name>/<stage>, "
                         "models:/<name>/latest, models:/<name>@<alias> or models:/<model_id>.");
}

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view StripLeadingSlashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  return s;
}

}  // namespace

bool IsModelUri(std::string_view uri) {
  return uri.rfind(kModelsScheme, 0) == 0 || uri.rfind(kRunsScheme, 0) == 0;
}

StatusOr<ModelUri> ParseModelUri(std::string_view uri) {
  ModelUri out;
  if (uri.rfind(kRunsScheme, 0) == 0) {
    std::string_view rest = StripLeadingSlashes(uri.substr(kRunsScheme.size()));
    size_t slash = rest.find('/');
    out.kind = ModelUri::Kind::kRun;
    out.run_id = std::string(rest.substr(0, slash));
    if (slash != std::string_view::npos) {
      std::string_view path = rest.substr(slash + 1);
      while (!path.empty() && path.back() == '/') path.remove_suffix(1);
      out.path = std::string(path);
    }
    if (out.run_id.empty()) {
      return InvalidArgument("Not a proper runs:/ URI: '" + std::string(uri) +
                             "'. Use runs:/<run_id>/<path>.");
    }
    return out;
  }
  if (uri.rfind(kModelsScheme, 0) != 0) return BadModelsUri(uri);
  std::string_view rest = uri.substr(kModelsScheme.size());
  if (rest.empty() || rest.front() != '/') return BadModelsUri(uri);
  std::vector<std::string_view> parts = Split(StripLeadingSlashes(rest));
  if (parts.size() == 1) {
    std::string_view only = parts[0];
    if (only.empty()) return BadModelsUri(uri);
    size_t at = only.rfind('@');
    if (at == std::string_view::npos) {
      out.kind = ModelUri::Kind::kLoggedModel;
      out.model_id = std::string(only);
      return out;
    }
    out.kind = ModelUri::Kind::kAlias;
    out.name = std::string(only.substr(0, at));
    out.alias = std::string(only.substr(at + 1));
    if (out.name.empty() || out.alias.empty()) return BadModelsUri(uri);
    return out;
  }
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) return BadModelsUri(uri);
  out.name = std::string(parts[0]);
  std::string_view which = parts[1];
  if (AllDigits(which)) {
    out.kind = ModelUri::Kind::kVersion;
    out.version = std::stoll(std::string(which));
    return out;
  }
  if (EqualsIgnoreCase(which, "latest")) {
    out.kind = ModelUri::Kind::kLatest;
    return out;
  }
  auto stage = ParseStage(which);
  if (!stage.ok()) return BadModelsUri(uri);
  out.kind = ModelUri::Kind::kStage;
  out.stage = *stage;
  return out;
}

}  // namespace cairn::registry
