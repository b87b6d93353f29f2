#include "online/lmdb/lmdb_online_store.h"

#include <lmdb.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "core/sha256.h"

namespace cairn::online {
namespace {

// Address space reserved for the map; the file grows only as pages are used.
constexpr size_t kMapSize = size_t{256} << 30;
// LMDB's default key limit is 511 bytes; a table name and entity key longer
// than this together store the entity key's SHA-256 instead (collisions are
// not a practical concern); table names are far shorter than the limit.
constexpr size_t kMaxPlainKey = 400;

Status LmdbError(const std::string& what, int rc) {
  return Unavailable("embedded online store: " + what + ": " + mdb_strerror(rc));
}

class LmdbOnlineStore : public OnlineStore {
 public:
  LmdbOnlineStore(std::string dir, MDB_env* env, MDB_dbi dbi)
      : dir_(std::move(dir)), env_(env), dbi_(dbi) {}
  ~LmdbOnlineStore() override { mdb_env_close(env_); }

  bool ReadsBlock() const override { return false; }

  std::string DisplayUri() const override { return "lmdb://" + dir_; }

  StatusOr<WriteCounts> Write(std::string_view table, std::span<const OnlineWrite> rows) override {
    std::vector<std::string> keys;
    keys.reserve(rows.size());
    for (const OnlineWrite& row : rows) keys.push_back(StoreKey(table, row.key));
    // Sorted keys touch each B-tree page once: bulk loads run several times faster.
    std::vector<size_t> order(rows.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });

    // Large writes go in transactions of kRowsPerTransaction: LMDB keeps a
    // transaction's dirty pages in a sorted list whose inserts grow with its
    // size, so one huge transaction is several times slower than many
    // medium ones. Each commit is durable (LMDB fsyncs it); a failure part-way
    // leaves the committed transactions, which the write rule makes harmless
    // to write again.
    WriteCounts counts;
    for (size_t begin = 0; begin < order.size(); begin += RowsPerTransaction()) {
      size_t end = std::min(order.size(), begin + RowsPerTransaction());
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
      if (rc != 0) return LmdbError("begin write", rc);
      for (size_t o = begin; o < end; ++o) {
        size_t i = order[o];
        MDB_val key{keys[i].size(), keys[i].data()};
        std::string_view stored = rows[i].stored;
        // Insert-if-absent first: a new key costs one tree descent, and an
        // existing one comes back in `value` for the rule's comparison.
        MDB_val value{stored.size(), const_cast<char*>(stored.data())};
        rc = mdb_put(txn, dbi_, &key, &value, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST) {
          if (!MayReplace(std::string_view(static_cast<const char*>(value.mv_data), value.mv_size),
                          stored)) {
            ++counts.kept_newer;
            continue;
          }
          value = MDB_val{stored.size(), const_cast<char*>(stored.data())};
          rc = mdb_put(txn, dbi_, &key, &value, 0);
        }
        if (rc != 0) {
          mdb_txn_abort(txn);
          return LmdbError("write", rc);
        }
        ++counts.written;
      }
      rc = mdb_txn_commit(txn);
      if (rc != 0) return LmdbError("commit", rc);
    }
    if (int rc = mdb_env_sync(env_, 1); rc != 0) return LmdbError("sync", rc);
    return counts;
  }

  Status Read(std::string_view table, std::span<const std::string> keys,
              std::vector<std::optional<OnlineRecord>>* out) override {
    out->assign(keys.size(), std::nullopt);
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc != 0) return LmdbError("begin read", rc);
    Status status = Status::Ok();
    for (size_t i = 0; i < keys.size() && status.ok(); ++i) {
      std::string k = StoreKey(table, keys[i]);
      MDB_val key{k.size(), k.data()};
      MDB_val value;
      rc = mdb_get(txn, dbi_, &key, &value);
      if (rc == MDB_NOTFOUND) continue;
      if (rc != 0) {
        status = LmdbError("read", rc);
        break;
      }
      StatusOr<OnlineRecord> record =
          DecodeStored(std::string_view(static_cast<const char*>(value.mv_data), value.mv_size));
      if (!record.ok()) {
        status = record.status();
      } else {
        (*out)[i] = std::move(*record);
      }
    }
    mdb_txn_abort(txn);
    return status;
  }

  Status DropTable(std::string_view table) override {
    std::string prefix = std::string(table) + '\0';
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc != 0) return LmdbError("begin write", rc);
    MDB_cursor* cursor = nullptr;
    rc = mdb_cursor_open(txn, dbi_, &cursor);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError("cursor", rc);
    }
    MDB_val key{prefix.size(), prefix.data()};
    MDB_val value;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size >= prefix.size() &&
           std::string_view(static_cast<const char*>(key.mv_data), prefix.size()) == prefix) {
      rc = mdb_cursor_del(cursor, 0);
      if (rc != 0) break;
      key = MDB_val{prefix.size(), prefix.data()};  // seek again: plain and always valid
      rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
    }
    mdb_cursor_close(cursor);
    if (rc != 0 && rc != MDB_NOTFOUND) {
      mdb_txn_abort(txn);
      return LmdbError("delete", rc);
    }
    rc = mdb_txn_commit(txn);
    return rc == 0 ? Status::Ok() : LmdbError("commit", rc);
  }

 private:
  // Measured with bench/materialize_bench: 10k-50k rows per transaction are
  // equally fast; 100k+ slow down (LMDB's dirty-page list), 2k pays fsyncs.
  static constexpr size_t RowsPerTransaction() { return 20'000; }

  static std::string StoreKey(std::string_view table, std::string_view entity_key) {
    std::string key(table);
    key += '\0';
    if (key.size() + entity_key.size() <= kMaxPlainKey) {
      key += entity_key;
    } else {
      key += '\1';  // marks a digest, so a digest never equals a short key
      key += Sha256Hex(entity_key);
    }
    return key;
  }

  std::string dir_;
  MDB_env* env_;
  MDB_dbi dbi_;
};

}  // namespace

StatusOr<std::unique_ptr<OnlineStore>> OpenLmdbOnlineStore(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create the online store folder " + dir + ": " + ec.message());
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return LmdbError("create", rc);
  mdb_env_set_mapsize(env, kMapSize);
  mdb_env_set_maxreaders(env, 1024);
  // MDB_NOTLS: read transactions are not tied to threads, so the server's
  // event loops may start and end them freely.
  // MDB_NOMETASYNC: each commit fsyncs its data pages but not the meta page,
  // which keeps the database intact on power loss (at worst the last commit
  // is undone) and halves the fsyncs of a large write; Write() ends with
  // mdb_env_sync, so what it acknowledges is durable.
  rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS | MDB_NOMETASYNC, 0644);
  if (rc != 0) {
    mdb_env_close(env);
    return Unavailable("cannot open the online store in " + dir + ": " + mdb_strerror(rc));
  }
  int dead = 0;
  mdb_reader_check(env, &dead);  // slots left by crashed processes
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  rc = mdb_txn_begin(env, nullptr, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
  if (rc == 0) rc = mdb_txn_commit(txn);
  if (rc != 0) {
    mdb_env_close(env);
    return LmdbError("open database", rc);
  }
  return std::unique_ptr<OnlineStore>(std::make_unique<LmdbOnlineStore>(dir, env, dbi));
}

void RegisterLmdbOnlineStore(OnlineStoreRegistry* registry) {
  registry->Register("lmdb", [](const std::string& uri) {
    std::string path = uri.substr(std::string_view("lmdb://").size());
    if (path.empty())
      return StatusOr<std::unique_ptr<OnlineStore>>(
          InvalidArgument("--online-store lmdb:// needs a folder, e.g. lmdb:///var/cairn/online"));
    return OpenLmdbOnlineStore(path);
  });
}

}  // namespace cairn::online
