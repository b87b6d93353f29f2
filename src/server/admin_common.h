// What the server and every command-line administration command share:
// opening the stores the config names, reporting a failure, naming the actor.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "online/online_store.h"
#include "server/server_config.h"
#include "store/metadata_store.h"

namespace cairn::server {

// Errors: Unavailable naming the store and why it did not open.
StatusOr<std::unique_ptr<store::MetadataStore>> OpenStore(const ServerConfig& config);

// The online store the config names (default: LMDB in <data_dir>/online).
// Errors: Unavailable naming the store and why it did not open.
StatusOr<std::unique_ptr<online::OnlineStore>> OpenOnlineStore(const ServerConfig& config);

// Prints "cairn: <message>" to stderr and returns the exit code: 2 when the
// command line was wrong (InvalidArgument), 1 otherwise.
int Fail(const Status& status);

// Who acts from the command line when no user signs in: "cli:<OS user of
// the effective uid>", plus " (sudo from <$SUDO_USER>)" under sudo.
std::string CliUser();

}  // namespace cairn::server
