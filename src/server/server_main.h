// RunServer: wires the concrete backends and components into one server and
// serves until SIGINT/SIGTERM, then drains. The only place that knows every
// concrete class.
#pragma once

#include "server/server_config.h"

namespace cairn::server {

// Returns the process exit code.
int RunServer(const ServerConfig& config);

}  // namespace cairn::server
