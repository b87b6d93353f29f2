// PostgreSQL backend of MetadataStore: the scale-out store, shared by every
// stateless Cairn replica.
//
// Built on ConnectionStore: one writer connection (group commit, READ
// COMMITTED, synchronous_commit=on so a commit is flushed when it returns) and
// a pool of reader connections (REPEATABLE READ READ ONLY snapshots).
// Migrations take a transaction-scoped advisory lock, so replicas starting
// together apply each migration once.
//
// SQL dialect notes for callers:
// - `?` placeholders become $1, $2, ... everywhere outside string literals,
//   quoted identifiers, comments and dollar-quoted strings; so PostgreSQL's
//   own `?` operators (jsonb) cannot be written through this interface.
// - Parameters are sent as text. Integers are typed bigint and doubles double
//   precision, so `SELECT ?` or `INSERT ... SELECT ?` keep their type; text
//   and NULL parameters are left for the server to infer from context, so
//   write CAST(? AS TEXT) where it cannot (e.g. `? IS NULL`), and
//   CAST(? AS INTEGER) for functions that take int4.
// - Results are typed by column type: smallint/integer/bigint as int64_t,
//   real/double precision/numeric as double (NaN and +-Infinity included),
//   everything else as text, NULL as std::monostate.
// - Errors: unique violations are AlreadyExists; serialization failures,
//   deadlocks and a lost connection are Unavailable (retry); all else
//   Internal. A connection lost between transactions is re-established when
//   the next transaction begins.
//
// Thread-safety: as MetadataStore.
#pragma once

#include <memory>
#include <string>

#include "store/metadata_store.h"

namespace cairn::store {

// Connects to the server at `uri`, any URI libpq accepts:
//   postgresql://[user[:password]@]host[:port]/dbname[?param=value&...]
// and opens the writer connection. Unless the URI says otherwise,
// connect_timeout is 10 s, client_encoding UTF8 and application_name "cairn".
// Errors: InvalidArgument if `uri` is not a postgresql:// or postgres:// URI;
// Unavailable("Cannot connect to PostgreSQL at <uri without password>: <reason>")
// if libpq rejects the URI or cannot connect or authenticate.
StatusOr<std::unique_ptr<MetadataStore>> OpenPostgresStore(const std::string& uri);

// Registers the "postgresql" and "postgres" schemes.
void RegisterPostgresStore(MetadataStoreRegistry* registry);

// `uri` with any password (user info or password=/sslpassword= query
// parameters) removed; what DisplayUri() and error messages show.
std::string RedactPostgresUri(const std::string& uri);

}  // namespace cairn::store
