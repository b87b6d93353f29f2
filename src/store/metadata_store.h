// MetadataStore: the relational store behind tracking, the registry and the
// feature registry. One interface, two real backends chosen by URI scheme:
// sqlite:///path/to/file.db (embedded default) and postgresql://... .
//
// Domain code writes portable SQL with `?` placeholders (backends translate
// them; PostgreSQL gets $1, $2, ...) and never pastes user text into SQL.
// Where the dialects differ (DDL for auto-increment keys, mostly), callers
// branch on dialect(). LIKE is case-sensitive on every backend.
//
// Writes are atomic and durable when Write() returns OK. Concurrent writers
// are group-committed: they share one transaction and one fsync, each inside
// its own savepoint, so one request's failure never undoes another's.
//
// Thread-safety: all MetadataStore methods are safe to call concurrently.
// A SqlSession is valid only inside the callback it was handed to.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/scheme_registry.h"
#include "core/status.h"
#include "store/write_context.h"

namespace cairn::store {

// NULL, INTEGER, REAL, TEXT.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;

enum class Dialect { kSqlite, kPostgres };

// A query result, row-major.
class SqlRows {
 public:
  SqlRows() = default;
  explicit SqlRows(size_t columns) : columns_(columns) {}

  size_t size() const { return columns_ == 0 ? 0 : cells_.size() / columns_; }
  bool empty() const { return cells_.empty(); }
  size_t columns() const { return columns_; }

  bool IsNull(size_t row, size_t col) const {
    return std::holds_alternative<std::monostate>(at(row, col));
  }
  // Typed getters convert between INTEGER and REAL; NULL reads as 0 / "".
  int64_t Int(size_t row, size_t col) const;
  double Double(size_t row, size_t col) const;
  const std::string& Text(size_t row, size_t col) const;
  const SqlValue& at(size_t row, size_t col) const { return cells_[row * columns_ + col]; }

  // For backends filling the result.
  void Append(SqlValue v) { cells_.push_back(std::move(v)); }
  void Reserve(size_t rows) { cells_.reserve(rows * columns_); }

 private:
  size_t columns_ = 0;
  std::vector<SqlValue> cells_;
};

// One row of a result being streamed by SqlSession::ForEachRow; valid only
// inside the callback. Getters convert between INTEGER and REAL; NULL reads
// as 0 / "". Text views point into the backend's buffers.
class SqlRow {
 public:
  virtual bool IsNull(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual double Double(int col) const = 0;
  virtual std::string_view Text(int col) const = 0;

 protected:
  ~SqlRow() = default;
};

class SqlSession {
 public:
  virtual ~SqlSession() = default;
  virtual Dialect dialect() const = 0;

  // Runs one statement. Returns the number of rows changed.
  // Errors: AlreadyExists on a unique/primary-key violation; Internal otherwise.
  virtual StatusOr<int64_t> Execute(std::string_view sql, std::span<const SqlValue> params) = 0;
  // Runs one query and returns all rows.
  virtual StatusOr<SqlRows> Query(std::string_view sql, std::span<const SqlValue> params) = 0;

  // Runs one query and hands each row to `fn` as it is read, without
  // building a result: the fast path for large reads. `fn` must not use the
  // session.
  virtual Status ForEachRow(std::string_view sql, std::span<const SqlValue> params,
                            const std::function<void(const SqlRow&)>& fn) = 0;

  // Runs trusted SQL with no parameters, possibly several statements
  // separated by ';' (DDL in migrations, transaction control).
  virtual Status ExecuteScript(std::string_view sql) = 0;

  StatusOr<int64_t> Execute(std::string_view sql, std::initializer_list<SqlValue> params = {}) {
    return Execute(sql, std::span<const SqlValue>(params.begin(), params.size()));
  }
  StatusOr<SqlRows> Query(std::string_view sql, std::initializer_list<SqlValue> params = {}) {
    return Query(sql, std::span<const SqlValue>(params.begin(), params.size()));
  }
};

// A schema change. `sql` may hold several statements separated by ';'.
// `postgres_sql`, if set, replaces `sql` on PostgreSQL.
struct Migration {
  int version;
  std::string name;
  std::string sql;
  std::string postgres_sql;
};

// A migration from one DDL template, rendered for each dialect:
//   {AUTO_PK}            an auto-assigned 64-bit integer primary key
//   {CLUSTERED}          SQLite's WITHOUT ROWID (the table is its primary key index)
//   {SQLITE_ONLY:text}   text on SQLite, nothing on PostgreSQL
Migration DdlMigration(int version, std::string name, std::string_view ddl_template);

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;
  virtual Dialect dialect() const = 0;
  // "sqlite:///..." or "postgresql://host/db" with any password removed.
  virtual std::string DisplayUri() const = 0;

  // Runs `fn` against a consistent snapshot. `fn` must only read.
  virtual Status Read(const std::function<Status(SqlSession&)>& fn) = 0;

  // Runs `fn` atomically and durably: when Write returns OK, everything `fn`
  // did is committed and fsynced; when `fn` returns an error (or the commit
  // fails), nothing it did is kept and that error is returned.
  // `fn` may run on another thread; it must not call Read/Write itself.
  // A statement that fails poisons the transaction on PostgreSQL: `fn` must
  // return that error, not carry on (use ON CONFLICT for expected conflicts).
  virtual Status Write(const std::function<Status(SqlSession&)>& fn) = 0;

  // How a WriteAsync may be carried out.
  enum class WriteSize {
    kLarge,  // Always handed to the store's commit thread; the caller never blocks.
    kSmall,  // A few rows: when the store is idle, committed on the calling
             // thread, which saves two thread hand-offs but blocks the caller
             // for one commit.
  };

  // As Write, but `done` receives the status once the write is durable (or
  // has failed). Usually WriteAsync returns at once and `done` runs later on
  // the store's commit thread; a kSmall write on an idle store commits on
  // the calling thread and `done` runs before WriteAsync returns. Either way
  // `done` must be quick and must not call back into the store (post work
  // elsewhere).
  // `fn` may run more than once: writes that share a transaction run without
  // savepoints, and if one fails, the transaction is rolled back and run
  // again with a savepoint per write. So `fn` must depend only on the
  // database it is given, and keep no state between runs.
  virtual void WriteAsync(std::function<Status(SqlSession&)> fn, std::function<void(Status)> done,
                          WriteSize size = WriteSize::kLarge) = 0;

  // From now on, every write submitted under a ScopedWriteContext is shown
  // to `observer` inside its transaction (see write_context.h).
  // REQUIRES: called before any such write; `observer` outlives the store.
  virtual void SetWriteObserver(WriteObserver* observer) = 0;

  // Applies, in version order, the migrations of `component` not yet
  // recorded in the schema_migrations table, each in its own transaction.
  // Safe to call at every start; concurrent starters are serialised.
  virtual Status Migrate(std::string_view component, std::span<const Migration> migrations) = 0;
};

// What an acknowledged write survives. Set by the store URI's `durability`
// parameter, e.g. sqlite:///var/cairn/meta.db?durability=process.
enum class Durability {
  kFull,     // Power loss: every commit is fsynced before it is acknowledged. The default.
  kProcess,  // A crash of Cairn (kill -9), not of the machine: the OS writes it out
             // soon after (SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off).
};

// Removes the `durability` parameter from `uri`'s query string and returns
// its value (kFull when absent). Errors: InvalidArgument naming the values.
StatusOr<Durability> TakeDurability(std::string* uri);

// Opens a store from a URI. Backends register by scheme; main wires them.
class MetadataStoreRegistry : public SchemeRegistry<MetadataStore> {
 public:
  MetadataStoreRegistry() : SchemeRegistry("--store") {}
};

}  // namespace cairn::store
