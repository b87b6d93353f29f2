#include "online/lmdb/lmdb_online_store.h"

#include <lmdb.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <shared_mutex>
#include <sstream>
#include <stop_token>
#include <thread>

#include "core/mutex.h"
#include "core/sha256.h"

namespace cairn::online {
namespace {

// Address space reserved for the map; the file grows only as pages are used.
constexpr size_t kMapSize = size_t{256} << 30;
// Each table is a named LMDB database. LMDB searches its open databases
// linearly and sizes every transaction by their count, so the limit is
// moderate; a view's table changes only when its schema does.
constexpr unsigned kMaxTables = 1024;
// LMDB's default key limit is 511 bytes; an entity key longer than this is
// stored as its SHA-256 instead (collisions are not a practical concern).
constexpr size_t kMaxPlainKey = 480;

Status LmdbError(const std::string& what, int rc) {
  if (rc == MDB_DBS_FULL) {
    return ResourceExhausted("embedded online store: more than " + std::to_string(kMaxTables) +
                             " tables; remove the online store folder and materialize again to "
                             "drop tables of old feature view schemas");
  }
  return Unavailable("embedded online store: " + what + ": " + mdb_strerror(rc));
}

std::string_view ViewOf(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

// The key an entity key is stored under: itself, or a marked digest when
// LMDB could not hold it.
std::string_view StoreKey(std::string_view entity_key, std::string* digest) {
  if (entity_key.size() <= kMaxPlainKey) return entity_key;
  // Marked: entity keys begin with a type tag (online_codec.h), never \1.
  *digest = '\1';
  *digest += Sha256Hex(entity_key);
  return *digest;
}

// Where this process maps `path`, from /proc/self/maps; nullptr when it is
// not mapped or cannot be told. (LMDB reports its map's address only for
// fixed-address maps.)
char* MappedAt(const std::string& path) {
  std::error_code ec;
  std::string wanted = std::filesystem::canonical(path, ec).string();
  if (ec) return nullptr;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    // "start-end perms offset dev inode   path"
    size_t slash = line.find('/');
    if (slash == std::string::npos || line.substr(slash) != wanted) continue;
    std::istringstream fields(line);
    std::string range, perms, offset;
    fields >> range >> perms >> offset;
    if (offset != "00000000") continue;
    return reinterpret_cast<char*>(std::stoull(range.substr(0, range.find('-')), nullptr, 16));
  }
  return nullptr;
}

class LmdbOnlineStore : public OnlineStore {
 public:
  LmdbOnlineStore(std::string dir, MDB_env* env) : dir_(std::move(dir)), env_(env) {}
  ~LmdbOnlineStore() override {
    if (warm_up_.joinable()) {
      warm_up_.request_stop();
      warm_up_.join();
    }
    for (MDB_txn* txn : idle_readers_) mdb_txn_abort(txn);
    mdb_env_close(env_);
  }

  bool ReadsBlock() const override { return false; }

  // Maps the file's used pages into this process ahead of reads. A fresh
  // server otherwise takes a page fault for each page a request first
  // touches: a 100-entity request touches a hundred or more, and the first
  // minutes of a restarted server ran at p90 100 ms instead of 1.5 ms. The
  // pages are mapped in chunks on a thread of its own, and only up to half
  // the machine's memory (beyond that they would push each other out).
  void StartWarmUp() override {
    if (warm_up_.joinable()) return;
    MDB_envinfo info;
    MDB_stat stat;
    if (mdb_env_info(env_, &info) != 0 || mdb_env_stat(env_, &stat) != 0) return;
    size_t used = (info.me_last_pgno + 1) * static_cast<size_t>(stat.ms_psize);
    size_t memory = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
    used = std::min(used, memory / 2);
    char* map = MappedAt(dir_ + "/data.mdb");
    if (map == nullptr) return;
    warm_up_ = std::jthread([map, used](const std::stop_token& stop) {
      constexpr size_t kChunk = size_t{16} << 20;
      for (size_t at = 0; at < used && !stop.stop_requested(); at += kChunk) {
        // Fails harmlessly (EINVAL) on kernels before 5.14: reads then fault
        // pages in as they go, as without warm-up.
        if (madvise(map + at, std::min(kChunk, used - at), MADV_POPULATE_READ) != 0) return;
      }
    });
  }

  std::string DisplayUri() const override { return "lmdb://" + dir_; }

  StatusOr<WriteCounts> Write(std::string_view table, std::span<const OnlineWrite> rows) override {
    ASSIGN_OR_RETURN(std::optional<MDB_dbi> dbi, Table(table, /*create=*/true));
    std::vector<std::string> digests(rows.size());
    std::vector<std::string_view> keys;
    keys.reserve(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) keys.push_back(StoreKey(rows[i].key, &digests[i]));
    // Sorted keys touch each B-tree page once, and a batch past the table's
    // last key is appended without searching or splitting pages. Stable, so
    // rows of one key with equal times keep the caller's order (last wins).
    std::vector<size_t> order(rows.size());
    std::iota(order.begin(), order.end(), 0);
    if (!std::is_sorted(order.begin(), order.end(),
                        [&](size_t a, size_t b) { return keys[a] < keys[b]; })) {
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return keys[a] < keys[b]; });
    }

    // Large writes go in transactions of kRowsPerTransaction: LMDB keeps a
    // transaction's dirty pages in a sorted list whose inserts grow with its
    // size, so one huge transaction is slower than many medium ones. Each
    // commit is durable (LMDB fsyncs it); a failure part-way leaves the
    // committed transactions, which the write rule makes harmless to redo.
    WriteCounts counts;
    for (size_t begin = 0; begin < order.size(); begin += kRowsPerTransaction) {
      size_t end = std::min(order.size(), begin + kRowsPerTransaction);
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
      if (rc != 0) return LmdbError("begin write", rc);
      MDB_cursor* cursor = nullptr;
      rc = mdb_cursor_open(txn, *dbi, &cursor);
      if (rc == 0) {
        rc = WriteSorted(cursor, keys, rows, std::span(order).subspan(begin, end - begin), &counts);
        mdb_cursor_close(cursor);
      }
      if (rc != 0) {
        mdb_txn_abort(txn);
        return LmdbError("write", rc);
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
    ASSIGN_OR_RETURN(std::optional<MDB_dbi> dbi, Table(table, /*create=*/false));
    if (!dbi.has_value()) return Status::Ok();  // never written: every key is missing
    ASSIGN_OR_RETURN(MDB_txn * txn, BeginRead());
    int rc = 0;
    Status status = Status::Ok();
    std::string digest;
    for (size_t i = 0; i < keys.size() && status.ok(); ++i) {
      std::string_view k = StoreKey(keys[i], &digest);
      MDB_val key{k.size(), const_cast<char*>(k.data())};
      MDB_val value;
      rc = mdb_get(txn, *dbi, &key, &value);
      // NOTFOUND also when another process dropped the table since it was
      // opened here: LMDB looks a named database up again in each transaction.
      if (rc == MDB_NOTFOUND) continue;
      if (rc != 0) {
        status = LmdbError("read", rc);
        break;
      }
      StatusOr<OnlineRecord> record = DecodeStored(ViewOf(value));
      if (!record.ok()) {
        status = record.status();
      } else {
        (*out)[i] = std::move(*record);
      }
    }
    EndRead(txn);
    return status;
  }

  Status DropTable(std::string_view table) override {
    ASSIGN_OR_RETURN(std::optional<MDB_dbi> dbi, Table(table, /*create=*/false));
    if (!dbi.has_value()) return Status::Ok();
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc != 0) return LmdbError("begin write", rc);
    // Emptied, not deleted: the handle stays valid for threads holding it.
    rc = mdb_drop(txn, *dbi, 0);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError("drop", rc);
    }
    rc = mdb_txn_commit(txn);
    return rc == 0 ? Status::Ok() : LmdbError("commit", rc);
  }

 private:
  // Measured with bench/materialize_bench: 10k-50k rows per transaction are
  // equally fast; 100k+ slow down (LMDB's dirty-page list), 2k pays fsyncs.
  static constexpr size_t kRowsPerTransaction = 20'000;

  // Writes rows[order...] (sorted by key) through `cursor` under the write
  // rule. Returns an LMDB code.
  static int WriteSorted(MDB_cursor* cursor, std::span<const std::string_view> keys,
                         std::span<const OnlineWrite> rows, std::span<const size_t> order,
                         WriteCounts* counts) {
    // Appending is possible while the keys stay past the table's last key,
    // which holds for a fresh load and for keys newer than all stored ones.
    MDB_val last_key, last_value;
    int rc = mdb_cursor_get(cursor, &last_key, &last_value, MDB_LAST);
    if (rc != 0 && rc != MDB_NOTFOUND) return rc;
    bool append = rc == MDB_NOTFOUND || (!order.empty() && keys[order[0]] > ViewOf(last_key));
    for (size_t i : order) {
      MDB_val key{keys[i].size(), const_cast<char*>(keys[i].data())};
      std::string_view stored = rows[i].stored;
      MDB_val value{stored.size(), const_cast<char*>(stored.data())};
      if (append) {
        rc = mdb_cursor_put(cursor, &key, &value, MDB_APPEND);
        if (rc == 0) {
          ++counts->written;
          continue;
        }
        if (rc != MDB_KEYEXIST) return rc;
        append = false;  // the same key twice in one write: compare as usual
        value = MDB_val{stored.size(), const_cast<char*>(stored.data())};
      }
      // Insert-if-absent first: a new key costs one tree descent, and an
      // existing one comes back in `value` for the rule's comparison.
      rc = mdb_cursor_put(cursor, &key, &value, MDB_NOOVERWRITE);
      if (rc == MDB_KEYEXIST) {
        if (!MayReplace(ViewOf(value), stored)) {
          ++counts->kept_newer;
          continue;
        }
        value = MDB_val{stored.size(), const_cast<char*>(stored.data())};
        rc = mdb_cursor_put(cursor, &key, &value, 0);
      }
      if (rc != 0) return rc;
      ++counts->written;
    }
    return 0;
  }

  // Read transactions are reset and renewed rather than begun and ended:
  // beginning one allocates room for every possible table (kMaxTables),
  // which cost more than the read itself.
  StatusOr<MDB_txn*> BeginRead() {
    MDB_txn* txn = nullptr;
    {
      MutexLock lock(&readers_mu_);
      if (!idle_readers_.empty()) {
        txn = idle_readers_.back();
        idle_readers_.pop_back();
      }
    }
    if (txn != nullptr) {
      int rc = mdb_txn_renew(txn);
      if (rc == 0) return txn;
      mdb_txn_abort(txn);
    }
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc != 0) return LmdbError("begin read", rc);
    return txn;
  }

  void EndRead(MDB_txn* txn) {
    mdb_txn_reset(txn);
    MutexLock lock(&readers_mu_);
    idle_readers_.push_back(txn);
  }

  // The database of `table`, opened once per process and cached. Without
  // `create`, a table no process has written yet is nullopt (and not cached,
  // since another process may create it at any time).
  StatusOr<std::optional<MDB_dbi>> Table(std::string_view table, bool create) {
    {
      std::shared_lock lock(tables_mutex_);
      auto it = tables_.find(table);
      if (it != tables_.end()) return std::optional<MDB_dbi>(it->second);
    }
    // LMDB allows one transaction at a time in a process to open databases.
    std::unique_lock lock(tables_mutex_);
    auto it = tables_.find(table);
    if (it != tables_.end()) return std::optional<MDB_dbi>(it->second);
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, create ? 0 : MDB_RDONLY, &txn);
    if (rc != 0) return LmdbError("begin", rc);
    MDB_dbi dbi = 0;
    std::string name(table);
    rc = mdb_dbi_open(txn, name.c_str(), create ? MDB_CREATE : 0, &dbi);
    if (rc == MDB_NOTFOUND) {
      mdb_txn_abort(txn);
      return std::optional<MDB_dbi>();
    }
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError("open table " + name, rc);
    }
    rc = mdb_txn_commit(txn);  // commit, read-only or not, keeps the handle open
    if (rc != 0) return LmdbError("open table " + name, rc);
    tables_.emplace(std::move(name), dbi);
    return std::optional<MDB_dbi>(dbi);
  }

  std::string dir_;
  MDB_env* env_;
  std::shared_mutex tables_mutex_;
  std::map<std::string, MDB_dbi, std::less<>> tables_;
  Mutex readers_mu_;
  std::vector<MDB_txn*> idle_readers_ GUARDED_BY(readers_mu_);  // Reset read transactions.
  std::jthread warm_up_;
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
  mdb_env_set_maxdbs(env, kMaxTables);
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
  return std::unique_ptr<OnlineStore>(std::make_unique<LmdbOnlineStore>(dir, env));
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
