// Opening the stores a ServerConfig names, in one place for the server and
// every command-line command: the backends are chosen by URI scheme
// through each store kind's registry (sqlite://, postgresql://, lmdb://,
// redis://, file://).
#pragma once

#include <memory>

#include "artifacts/artifact_store.h"
#include "core/status.h"
#include "online/online_store.h"
#include "server/server_config.h"
#include "store/metadata_store.h"

namespace cairn::server {

// The metadata store (default: SQLite in <data_dir>/metadata.db).
// Errors: Unavailable naming the store and why it did not open.
StatusOr<std::unique_ptr<store::MetadataStore>> OpenStore(const ServerConfig& config);

// The online store (default: LMDB in <data_dir>/online).
// Errors: Unavailable naming the store and why it did not open.
StatusOr<std::unique_ptr<online::OnlineStore>> OpenOnlineStore(const ServerConfig& config);

// The artifact store (default: <data_dir>/artifacts).
// Errors: Unavailable naming the store and why it did not open.
StatusOr<std::unique_ptr<artifacts::ArtifactStore>> OpenArtifactStore(const ServerConfig& config);

}  // namespace cairn::server
