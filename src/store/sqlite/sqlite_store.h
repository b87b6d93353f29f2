// SQLite backend of MetadataStore: the embedded default.
//
// WAL journal (readers never block the writer), synchronous=FULL (a commit
// is on disk when it returns; NORMAL with Durability::kProcess), a busy
// timeout so a second process (the CLI) waits instead of failing, and one
// prepared-statement cache per connection. With full durability the WAL file
// (`<path>-wal`) is written out to its working size (about 45 MB) when the
// database is first opened and kept between runs, so commits overwrite its
// blocks instead of growing the file (see PreallocateWal).
#pragma once

#include <memory>
#include <string>

#include "store/metadata_store.h"

namespace cairn::store {

// Opens (creating if needed) the database at `path`.
// Errors: Unavailable if the file cannot be opened or is not a database.
StatusOr<std::unique_ptr<MetadataStore>> OpenSqliteStore(const std::string& path,
                                                         Durability durability = Durability::kFull);

// Registers "sqlite" (sqlite:///abs/path.db, sqlite://relative/path.db,
// optionally ?durability=full|process).
void RegisterSqliteStore(MetadataStoreRegistry* registry);

}  // namespace cairn::store
