// What every command-line administration command shares: the stores
// (server/stores.h), reporting a failure, naming the actor.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "server/server_config.h"
#include "server/stores.h"

namespace cairn::server {

// Prints "cairn: <message>" to stderr and returns the exit code: 2 when the
// command line was wrong (InvalidArgument), 1 otherwise.
int Fail(const Status& status);

// Who acts from the command line when no user signs in: "cli:<OS user of
// the effective uid>", plus " (sudo from <$SUDO_USER>)" under sudo.
std::string CliUser();

}  // namespace cairn::server
