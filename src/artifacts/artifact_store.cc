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

void ArtifactStoreRegistry::Register(std::string scheme, ArtifactStoreFactory factory) {
  factories_.emplace_back(std::move(scheme), std::move(factory));
}

StatusOr<std::unique_ptr<ArtifactStore>> ArtifactStoreRegistry::Open(const std::string& uri) const {
  size_t colon = uri.find("://");
  std::string scheme = colon == std::string::npos ? "" : uri.substr(0, colon);
  for (const auto& [name, factory] : factories_) {
    if (name == scheme) return factory(uri);
  }
  std::string known;
  for (const auto& [name, factory] : factories_) {
    if (!known.empty()) known += ", ";
    known += name + "://";
  }
  return InvalidArgument("Unsupported --artifacts URI '" + uri + "': the scheme must be one of " +
                         known);
}

}  // namespace cairn::artifacts
