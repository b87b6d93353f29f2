#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unordered_map>
#include <vector>

#include "store/connection_store.h"

namespace cairn::store {
namespace {

constexpr int kBusyTimeoutMs = 10000;
constexpr size_t kMaxCachedStatements = 512;
// Pages of WAL after which a commit checkpoints (SQLite's default is 1000).
constexpr int kWalAutocheckpointPages = 10000;

Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  int extended = sqlite3_extended_errcode(db);
  std::string message = std::string(context) + ": " + sqlite3_errmsg(db);
  if (extended == SQLITE_CONSTRAINT_PRIMARYKEY || extended == SQLITE_CONSTRAINT_UNIQUE) {
    return AlreadyExists(message);
  }
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Unavailable(message);
  return Internal(message);
}

class SqliteConnection : public SqlConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  Status ExecuteScript(std::string_view sql) override {
    // One statement (BEGIN, COMMIT, SAVEPOINT: several per write) runs from
    // the statement cache; preparing it anew each time costs more than running it.
    if (sql.find(';') == std::string_view::npos) return Execute(sql, {}).status();
    std::string text(sql);
    char* error = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      std::string message = error != nullptr ? error : sqlite3_errstr(rc);
      sqlite3_free(error);
      return SqliteError(db_, rc, message);
    }
    return Status::Ok();
  }

  StatusOr<int64_t> Execute(std::string_view sql, std::span<const SqlValue> params) override {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "SQL execution failed");
    return static_cast<int64_t>(sqlite3_changes(db_));
  }

  StatusOr<SqlRows> Query(std::string_view sql, std::span<const SqlValue> params) override {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    // The column count is read after the first step: SQLite may recompile a
    // cached statement there if the schema changed.
    int rc = sqlite3_step(stmt);
    int columns = sqlite3_column_count(stmt);
    SqlRows rows(static_cast<size_t>(columns));
    for (; rc == SQLITE_ROW; rc = sqlite3_step(stmt)) {
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER:
            rows.Append(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
            break;
          case SQLITE_FLOAT:
            rows.Append(sqlite3_column_double(stmt, c));
            break;
          case SQLITE_NULL:
            rows.Append(std::monostate{});
            break;
          default: {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
            rows.Append(std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, c))));
          }
        }
      }
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "SQL query failed");
    return rows;
  }

  Status ForEachRow(std::string_view sql, std::span<const SqlValue> params,
                    const std::function<void(const SqlRow&)>& fn) override {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    StatementRow row(stmt);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) fn(row);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "SQL query failed");
    return Status::Ok();
  }

 private:
  // The current row of a stepping statement.
  class StatementRow final : public SqlRow {
   public:
    explicit StatementRow(sqlite3_stmt* stmt) : stmt_(stmt) {}
    bool IsNull(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    int64_t Int(int col) const override { return sqlite3_column_int64(stmt_, col); }
    double Double(int col) const override { return sqlite3_column_double(stmt_, col); }
    std::string_view Text(int col) const override {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
      if (text == nullptr) return {};
      return {text, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
    }

   private:
    sqlite3_stmt* stmt_;
  };

  StatusOr<sqlite3_stmt*> Prepare(std::string_view sql, std::span<const SqlValue> params) {
    std::string key(sql);
    sqlite3_stmt* stmt = nullptr;
    auto it = statements_.find(key);
    if (it != statements_.end()) {
      stmt = it->second;
    } else {
      int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                                  SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "SQL prepare failed");
      if (statements_.size() >= kMaxCachedStatements) {
        for (auto& [s, old] : statements_) sqlite3_finalize(old);
        statements_.clear();
      }
      statements_.emplace(std::move(key), stmt);
    }
    sqlite3_clear_bindings(stmt);
    int index = 1;
    for (const SqlValue& v : params) {
      int rc = SQLITE_OK;
      if (const auto* i = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, index, *i);
      } else if (const auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, index, *d);
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text(stmt, index, s->data(), static_cast<int>(s->size()), SQLITE_STATIC);
      } else {
        rc = sqlite3_bind_null(stmt, index);
      }
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "SQL bind failed");
      ++index;
    }
    return stmt;
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

StatusOr<std::unique_ptr<SqlConnection>> OpenConnection(const std::string& path,
                                                        Durability durability) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Unavailable("Cannot open SQLite database '" + path + "': " + message);
  }
  auto connection = std::make_unique<SqliteConnection>(db);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // In WAL mode, NORMAL syncs only at checkpoints: a commit then survives a
  // crash of the process (it is in the OS's cache) but not of the machine.
  // FULL flushes the WAL inside COMMIT, under the write lock. Tried and
  // measured worse: NORMAL plus our own fdatasync of the WAL after releasing
  // the lock, so the next group's statements overlap the flush. The disk
  // flushes one at a time (about 0.15 ms each here, whatever the size), so
  // throughput is writes per flush times flushes per second; overlapping
  // split the groups (8 -> about 3 writes per flush) and 16 connections of
  // log-metric fell from 26k to 17k calls/s, while 1 connection was no faster.
  std::string synchronous = durability == Durability::kFull ? "FULL" : "NORMAL";
  Status pragmas = connection->ExecuteScript(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=" + synchronous +
      "; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;"
      // Checkpoint every 40 MB of WAL rather than SQLite's 4 MB: the pages a
      // stream of writes keeps changing (index roots, the newest leaves) are
      // copied into the database once per checkpoint instead of ten times,
      // and the writer pays for a checkpoint ten times less often.
      " PRAGMA wal_autocheckpoint=" +
      std::to_string(kWalAutocheckpointPages) +
      ";"
      // LIKE is case-sensitive on every backend (PostgreSQL's rule); ILIKE is
      // written as LOWER(x) LIKE LOWER(y) by callers.
      " PRAGMA case_sensitive_like=ON");
  if (!pragmas.ok()) {
    return Unavailable("Cannot configure SQLite database '" + path + "': " + pragmas.message() +
                       " (is it a SQLite file?)");
  }
  // Keep the WAL file when the last connection closes, so that its blocks,
  // once written (see PreallocateWal), stay written across restarts.
  int persist_wal = 1;
  sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist_wal);
  return std::unique_ptr<SqlConnection>(std::move(connection));
}

// Grows the write-ahead log file to `bytes` of written zeros. SQLite appends
// to the WAL until a checkpoint restarts it from the top, and a commit that
// appends makes fdatasync also flush the file's new size: on ext4 that
// doubles the cost of a small durable commit (measured here: 0.17 ms against
// 0.09 ms for overwriting blocks in place; fallocate's unwritten extents cost
// the same as appending). With the blocks written up front, every commit of
// a new database is as cheap as on one whose WAL has already grown.
// Runs under the write lock (BEGIN IMMEDIATE), so no other process appends
// frames meanwhile. Zeros past the last frame are no valid frame (frames
// carry checksums and the header's salt), so SQLite ignores them.
Status PreallocateWal(SqlConnection& db, const std::string& wal_path, int64_t bytes) {
  RETURN_IF_ERROR(db.ExecuteScript("BEGIN IMMEDIATE"));
  Status result = [&]() -> Status {
    int fd = ::open(wal_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Internal("Cannot open " + wal_path + ": " + std::strerror(errno));
    struct stat st {};
    Status written = Status::Ok();
    if (::fstat(fd, &st) == 0 && st.st_size < bytes) {
      std::vector<char> zeros(1 << 20, 0);
      for (int64_t at = st.st_size; at < bytes && written.ok();) {
        size_t chunk = static_cast<size_t>(std::min<int64_t>(bytes - at, zeros.size()));
        ssize_t n = ::pwrite(fd, zeros.data(), chunk, at);
        if (n <= 0) written = Internal("Cannot write " + wal_path + ": " + std::strerror(errno));
        at += n > 0 ? n : 0;
      }
      if (written.ok() && ::fdatasync(fd) != 0) {
        written = Internal("Cannot sync " + wal_path + ": " + std::strerror(errno));
      }
    }
    ::close(fd);
    return written;
  }();
  Status end = db.ExecuteScript("COMMIT");
  RETURN_IF_ERROR(result);
  return end;
}

}  // namespace

StatusOr<std::unique_ptr<MetadataStore>> OpenSqliteStore(const std::string& path,
                                                         Durability durability) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (durability == Durability::kFull) {
    // Only full durability syncs at every commit; `process` syncs at
    // checkpoints, where the WAL's growth costs nothing worth the space.
    ASSIGN_OR_RETURN(auto db, OpenConnection(path, durability));
    ASSIGN_OR_RETURN(SqlRows page, db->Query("PRAGMA page_size"));
    // A WAL frame is a page plus a 24-byte header, after a 32-byte file header;
    // a tenth more room for the batch that crosses the checkpoint threshold.
    int64_t frames = kWalAutocheckpointPages + kWalAutocheckpointPages / 10;
    Status grown = PreallocateWal(*db, path + "-wal", 32 + frames * (page.Int(0, 0) + 24));
    if (!grown.ok()) {
      return Unavailable("Cannot prepare the write-ahead log of '" + path +
                         "': " + grown.message() + " (is the disk full?)");
    }
  }
  ConnectionStoreOptions options;
  // IMMEDIATE takes the write lock up front, so a batch never fails half-way
  // with SQLITE_BUSY when another process writes.
  options.begin_write = "BEGIN IMMEDIATE";
  options.begin_read = "BEGIN";
  ASSIGN_OR_RETURN(auto store,
                   ConnectionStore::Open(
                       Dialect::kSqlite, "sqlite:///" + path,
                       [path, durability] { return OpenConnection(path, durability); }, options));
  return std::unique_ptr<MetadataStore>(std::move(store));
}

void RegisterSqliteStore(MetadataStoreRegistry* registry) {
  registry->Register("sqlite", [](const std::string& uri) {
    // sqlite:///abs/path -> /abs/path; sqlite://rel/path -> rel/path.
    std::string path = uri.substr(std::string_view("sqlite://").size());
    auto durability = TakeDurability(&path);
    if (!durability.ok()) return StatusOr<std::unique_ptr<MetadataStore>>(durability.status());
    if (path.rfind("//", 0) == 0) path = path.substr(1);
    if (path.empty()) {
      return StatusOr<std::unique_ptr<MetadataStore>>(
          InvalidArgument("--store sqlite:// needs a file path, e.g. sqlite:///var/cairn/meta.db"));
    }
    return OpenSqliteStore(path, *durability);
  });
}

}  // namespace cairn::store
