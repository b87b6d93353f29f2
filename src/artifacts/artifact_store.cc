#include "artifacts/artifact_store.h"

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

}  // namespace cairn::artifacts
