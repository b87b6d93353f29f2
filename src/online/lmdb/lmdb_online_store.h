// The embedded online store: LMDB in a folder (lmdb:///path, by default
// --data-dir/online). LMDB is a memory-mapped B+tree with multi-process
// readers and one writer at a time, so a running server reads what a
// separate `cairn features materialize` process commits, at once and
// without a reload. Each Write is one durable transaction.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "online/online_store.h"

namespace cairn::online {

// Opens (creating the folder when missing) the store at `dir`.
// Errors: Unavailable naming the folder and LMDB's reason.
StatusOr<std::unique_ptr<OnlineStore>> OpenLmdbOnlineStore(const std::string& dir);

// Registers the "lmdb" scheme.
void RegisterLmdbOnlineStore(OnlineStoreRegistry* registry);

}  // namespace cairn::online
