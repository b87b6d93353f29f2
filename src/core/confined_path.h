// Confined paths: server-side file names that a client sends (a training
// set's entity file or output) are resolved against a root the operator
// configured, as the OS will open them (symlinks followed, ".." folded), and
// refused when they lead outside it. A client learns nothing about files
// outside the root: a path leading there is refused the same way whether or
// not it exists, and messages show paths relative to the root.
//
// Thread-safety: functions only; they read the filesystem.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace cairn {

enum class PathUse {
  kRead,   // An existing regular file.
  kWrite,  // A file to create or replace; its folder must exist.
};

// Resolves `path` (absolute, or relative to `root`) inside `root`.
// REQUIRES: `root` is absolute and canonical (CanonicalRoot).
// Returns the real absolute path. Errors name `field`:
//   InvalidArgument: empty, or holds a control character (NUL included);
//   PermissionDenied: it leads outside `root`;
//   NotFound: inside `root` but missing (kRead), or its folder is (kWrite);
//   InvalidArgument: kRead of something not a regular file, kWrite of a folder.
StatusOr<std::string> ResolveUnderRoot(const std::string& root, std::string_view path, PathUse use,
                                       std::string_view field);

// `dir` made absolute and canonical (symlinks resolved). Errors: NotFound
// or InvalidArgument (not a folder), naming `setting`.
StatusOr<std::string> CanonicalRoot(const std::string& dir, std::string_view setting);

// True when one of the canonical folders `a` and `b` contains the other (or
// they are the same).
bool PathsOverlap(const std::string& a, const std::string& b);

// `text` with every occurrence of `root` + "/" removed, so that messages
// from libraries show paths relative to the root.
std::string StripRoot(std::string text, const std::string& root);

// True when `text` holds a control character (below 0x20, or 0x7f).
bool HasControlCharacter(std::string_view text);

}  // namespace cairn
