// Local filesystem backend of ArtifactStore (file:///dir).
//
// Atomic writes: data goes to a temp file in <root>/.spool and is renamed
// into place after fsync, so readers and a crash never see partial files.
//
// Symbolic links are never followed. The store itself never creates one, so
// a link inside the root was put there by someone with access to the
// filesystem (or another tool), and following it could read, list, replace
// or delete files outside the artifact being addressed (/etc, another
// experiment's runs). Every path is opened from a descriptor of the root,
// one component at a time with O_NOFOLLOW, or in one call with openat2's
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel has it (5.6+). A
// path through a link is refused (InvalidArgument), listings leave links
// out, and deleting a link removes the link, never its target.
//
// Error messages name paths relative to the store root, never the root.
#pragma once

#include <memory>
#include <string>

#include "artifacts/artifact_store.h"
#include "core/env.h"

namespace cairn::artifacts {

struct LocalArtifactStoreOptions {
  // Resolve paths with openat2 when the kernel has it. False always walks
  // the path one component at a time (what happens anyway on kernels before
  // 5.6); both are equally strict.
  bool use_openat2 = true;
  // Randomness for temporary names; null: Env::Default(). Files are not
  // reached through Env: the store's confinement needs openat2 and
  // O_NOFOLLOW beneath one root descriptor, which Env does not model.
  Env* env = nullptr;
};

// Creates `root` if needed. Errors: Unavailable if it cannot be created or
// opened.
StatusOr<std::unique_ptr<ArtifactStore>> OpenLocalArtifactStore(
    const std::string& root, LocalArtifactStoreOptions options = {});

// Registers "file" (file:///abs/dir); stores opened through it use `env`
// (null: Env::Default()).
void RegisterLocalArtifactStore(ArtifactStoreRegistry* registry, Env* env = nullptr);

}  // namespace cairn::artifacts
