// Local filesystem backend of ArtifactStore (file:///dir).
//
// Atomic writes: data goes to a temp file in <root>/.spool and is renamed
// into place after fsync, so readers and a crash never see partial files.
#pragma once

#include <memory>
#include <string>

#include "artifacts/artifact_store.h"

namespace cairn::artifacts {

// Creates `root` if needed. Errors: Unavailable if it cannot be created.
StatusOr<std::unique_ptr<ArtifactStore>> OpenLocalArtifactStore(const std::string& root);

// Registers "file" (file:///abs/dir).
void RegisterLocalArtifactStore(ArtifactStoreRegistry* registry);

}  // namespace cairn::artifacts
