#include "core/confined_path.h"

#include <filesystem>

namespace cairn {

namespace fs = std::filesystem;

bool HasControlCharacter(std::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

namespace {

// True when `inner` lies below the folder `outer` (not `outer` itself).
bool IsBelow(const std::string& inner, const std::string& outer) {
  if (outer == "/") return inner.size() > 1 && inner.front() == '/';
  return inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
         inner[outer.size()] == '/';
}

}  // namespace

bool PathsOverlap(const std::string& a, const std::string& b) {
  return a == b || IsBelow(a, b) || IsBelow(b, a);
}

std::string StripRoot(std::string text, const std::string& root) {
  std::string prefix = root == "/" ? root : root + "/";
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at)) {
    text.erase(at, prefix.size());
  }
  return text;
}

StatusOr<std::string> CanonicalRoot(const std::string& dir, std::string_view setting) {
  std::error_code ec;
  fs::path canonical = fs::canonical(fs::absolute(dir, ec), ec);
  if (ec) {
    return NotFound(std::string(setting) + ": cannot use '" + dir + "': " + ec.message() +
                    " (create the folder first)");
  }
  if (!fs::is_directory(canonical, ec)) {
    return InvalidArgument(std::string(setting) + ": '" + dir + "' is not a folder");
  }
  return canonical.string();
}

StatusOr<std::string> ResolveUnderRoot(const std::string& root, std::string_view path, PathUse use,
                                       std::string_view field) {
  std::string name(field);
  if (path.empty()) return InvalidArgument(name + ": empty path");
  if (HasControlCharacter(path)) {
    return InvalidArgument(name + ": the path holds a control character");
  }
  fs::path given(path);
  fs::path joined = given.is_absolute() ? given : fs::path(root) / given;
  std::error_code ec;
  // Symlinks in the existing part are followed, as open() would follow them;
  // the rest is folded lexically.
  fs::path resolved = fs::weakly_canonical(joined.lexically_normal(), ec);
  std::string outside = name +
                        ": the path leads outside the server's training data root "
                        "(--training-data-root); give a path under it";
  if (ec) return PermissionDenied(outside);
  std::string real = resolved.string();
  if (!IsBelow(real, root)) return PermissionDenied(outside);
  std::string relative = real.substr(root == "/" ? 1 : root.size() + 1);
  fs::file_status status = fs::status(resolved, ec);
  if (use == PathUse::kRead) {
    if (!fs::exists(status)) return NotFound(name + ": no file '" + relative + "' under the root");
    if (!fs::is_regular_file(status)) {
      return InvalidArgument(name + ": '" + relative + "' is not a regular file");
    }
    return real;
  }
  if (fs::is_directory(status)) {
    return InvalidArgument(name + ": '" + relative + "' is a folder; name a file in it");
  }
  if (!fs::is_directory(resolved.parent_path(), ec)) {
    return NotFound(name + ": no folder '" +
                    (relative.find('/') == std::string::npos
                         ? std::string(".")
                         : relative.substr(0, relative.rfind('/'))) +
                    "' under the root; create it first");
  }
  return real;
}

}  // namespace cairn
