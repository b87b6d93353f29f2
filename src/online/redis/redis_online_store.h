// The scale-out online store: Redis 7 through hiredis
// (redis://[:password@]host[:port][/db]). Reads are one MGET per view;
// writes go in pipelined batches, each applied by a server-side script that
// enforces the write rule (online_store.h) atomically for its keys.
// Records are plain Redis strings under "cairn:<project>/<view>:<entity key>".
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "online/online_store.h"

namespace cairn::online {

// Errors: InvalidArgument for a malformed URI; Unavailable when Redis
// cannot be reached (naming host and port).
StatusOr<std::unique_ptr<OnlineStore>> OpenRedisOnlineStore(const std::string& uri);

// Registers the "redis" scheme.
void RegisterRedisOnlineStore(OnlineStoreRegistry* registry);

}  // namespace cairn::online
