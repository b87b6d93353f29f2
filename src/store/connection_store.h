// ConnectionStore: the MetadataStore behaviour shared by every SQL backend,
// built on a backend's connections: one writer connection driven by a
// group-commit thread, and a pool of reader connections.
//
// Group commit: Write() enqueues its callback and waits. The committer thread
// takes every queued callback, opens one transaction, runs each inside its
// own SAVEPOINT (rolled back alone if it fails; but see below), commits once,
// then wakes each caller with its own status. Under load, hundreds of
// requests share one fsync.
// A batch of WriteAsync callbacks (which may run twice, see MetadataStore)
// first runs without savepoints: on PostgreSQL each SAVEPOINT and RELEASE is
// a round trip, two of a log-metric's five. Only if one of them fails is the
// transaction rolled back and the batch run again with savepoints.
// When the writer is idle and was not batching, a small write (and every
// blocking Write) commits on its caller's thread instead: alone there is
// nothing to share, and the hand-offs would cost a third of the commit.
//
// Thread-safety: as MetadataStore.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/env.h"
#include "core/mutex.h"
#include "store/metadata_store.h"

namespace cairn::store {

// One backend connection. Not thread-safe; the store hands it to one thread at a time.
class SqlConnection : public SqlSession {};

using ConnectionFactory = std::function<StatusOr<std::unique_ptr<SqlConnection>>()>;

struct ConnectionStoreOptions {
  int max_readers = 8;
  // Upper bound on callbacks sharing one transaction; bounds a batch's latency.
  int max_batch = 1000;
  // Statements that open a write and a read transaction in this dialect.
  std::string begin_write = "BEGIN";
  std::string begin_read = "BEGIN";
  // Run first inside each migration transaction (e.g. an advisory lock).
  std::string migration_lock;
  // Starts the committer thread.
  Env* env = Env::Default();
};

class ConnectionStore : public MetadataStore {
 public:
  // Opens the writer connection and starts the committer thread.
  static StatusOr<std::unique_ptr<ConnectionStore>> Open(Dialect dialect, std::string display_uri,
                                                         ConnectionFactory factory,
                                                         ConnectionStoreOptions options);
  ~ConnectionStore() override;

  Dialect dialect() const override { return dialect_; }
  std::string DisplayUri() const override { return display_uri_; }
  Status Read(const std::function<Status(SqlSession&)>& fn) override;
  Status Write(const std::function<Status(SqlSession&)>& fn) override;
  void WriteAsync(std::function<Status(SqlSession&)> fn, std::function<void(Status)> done,
                  WriteSize size) override;
  Status Migrate(std::string_view component, std::span<const Migration> migrations) override;
  void SetWriteObserver(WriteObserver* observer) override { observer_ = observer; }

 private:
  struct PendingWrite;

  ConnectionStore(Dialect dialect, std::string display_uri, ConnectionFactory factory,
                  ConnectionStoreOptions options, std::unique_ptr<SqlConnection> writer);
  void CommitLoop();
  void CommitBatch(std::vector<std::unique_ptr<PendingWrite>>& batch);
  // The steps of CommitBatch, on writer_. Begin and Commit set each write's
  // result when they fail. RunWithoutSavepoints runs every write in the open
  // transaction; if one fails it rolls the transaction back and returns false.
  bool Begin(std::vector<std::unique_ptr<PendingWrite>>& batch);
  bool RunWithoutSavepoints(std::vector<std::unique_ptr<PendingWrite>>& batch);
  void Commit(std::vector<std::unique_ptr<PendingWrite>>& batch);
  // Queues (or commits inline) one write; `may_rerun` as in WriteAsync.
  void Submit(std::function<Status(SqlSession&)> fn, std::function<void(Status)> done,
              WriteSize size, bool may_rerun);
  // The write's own work, and its record for the observer if it has a context.
  Status RunWrite(SqlSession& db, PendingWrite& write);
  StatusOr<std::unique_ptr<SqlConnection>> AcquireReader();
  void ReleaseReader(std::unique_ptr<SqlConnection> connection);

  const Dialect dialect_;
  const std::string display_uri_;
  const ConnectionFactory factory_;
  const ConnectionStoreOptions options_;
  WriteObserver* observer_ = nullptr;      // Set before serving; read by committers.
  std::unique_ptr<SqlConnection> writer_;  // Used only by the thread that set committing_.

  Mutex write_mu_;
  CondVar write_cv_{&write_mu_};
  std::deque<std::unique_ptr<PendingWrite>> write_queue_ GUARDED_BY(write_mu_);
  bool stopping_ GUARDED_BY(write_mu_) = false;
  // True while some thread (the committer, or a caller committing inline)
  // owns writer_.
  bool committing_ GUARDED_BY(write_mu_) = false;
  // Writes in the last commit: above 1 means writers are arriving together.
  size_t last_batch_size_ GUARDED_BY(write_mu_) = 0;
  std::unique_ptr<Thread> committer_;  // Set by Open once the store exists.

  Mutex read_mu_;
  CondVar read_cv_{&read_mu_};
  std::vector<std::unique_ptr<SqlConnection>> idle_readers_ GUARDED_BY(read_mu_);
  int open_readers_ GUARDED_BY(read_mu_) = 0;
};

}  // namespace cairn::store
