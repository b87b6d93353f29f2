#include "artifacts/artifact_store.h"

#include <algorithm>

namespace cairn::artifacts {

StatusOr<std::string> NormalizeArtifactPath(std::string_view path) {
  if (!path.empty() && path.front() == '/') {
    return InvalidArgument("Invalid artifact path '" + std::string(path) +
                           "': absolute paths are not allowed; use a path relative to the run's "
                           "artifact root.");
  }
  if (path.find('\\') != std::string_view::npos || path.find('\0') != std::string_view::npos) {
    return InvalidArgument("Invalid artifact path '" + std::string(path) +
                           "': backslashes and NUL characters are not allowed.");
  }
  // Bounded: every folder level of a delete holds a descriptor, and the
  // checks on registered files query each level (review finding: a path
  // 8,000 folders deep exhausted descriptors on delete). Linux's own limit
  // on a path is 4096 bytes.
  constexpr size_t kMaxPathBytes = 4096;
  constexpr size_t kMaxDepth = 64;
  if (path.size() > kMaxPathBytes ||
      static_cast<size_t>(std::count(path.begin(), path.end(), '/')) >= kMaxDepth) {
    return InvalidArgument("Invalid artifact path '" + std::string(path.substr(0, 100)) +
                           "...': at most " + std::to_string(kMaxDepth) + " folder levels and " +
                           std::to_string(kMaxPathBytes) + " bytes.");
  }
  std::string out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view segment = path.substr(pos, slash - pos);
    if (segment == "..") {
      return InvalidArgument("Invalid artifact path '" + std::string(path) +
                             "': '..' segments are not allowed.");
    }
    if (!segment.empty() && segment != ".") {
      if (!out.empty()) out.push_back('/');
      out.append(segment);
    }
    pos = slash + 1;
  }
  return out;
}

StatusOr<std::string> ServedArtifactPath(const std::string& artifact_uri) {
  constexpr std::string_view kScheme = "mlflow-artifacts:";
  if (artifact_uri.rfind(kScheme, 0) != 0) {
    return InvalidArgument("Artifact URI '" + artifact_uri +
                           "' is not served by this server (expected mlflow-artifacts:/...).");
  }
  std::string rest = artifact_uri.substr(kScheme.size());
  if (rest.rfind("//", 0) == 0) {
    // mlflow-artifacts://host:port/path: drop the authority.
    size_t slash = rest.find('/', 2);
    rest = slash == std::string::npos ? "" : rest.substr(slash);
  }
  while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
  return NormalizeArtifactPath(rest);
}

}  // namespace cairn::artifacts
