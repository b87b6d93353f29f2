// WriteContext: why a write happens (who asked, for what), so that the
// store can record it in the same transaction as the write itself. The
// audit log is built on this: an entry commits with the change it describes,
// or neither does.
//
// A protocol surface opens a ScopedWriteContext on the thread that handles a
// request; every MetadataStore write submitted from that thread while it is
// open carries the context to the commit thread, where the store's
// WriteObserver sees it inside the write's transaction.
//
// Thread-safety: a ScopedWriteContext belongs to the thread that opened it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"

namespace cairn::store {

class SqlSession;

struct WriteContext {
  std::string user;     // Who asked ("" without authentication).
  std::string action;   // What, e.g. "POST /api/2.0/mlflow/model-versions/transition-stage".
  std::string target;   // Which resource, e.g. "registered_model churn".
  std::string request;  // The request's arguments, as sent (bounded).
  // The target's state, read inside the transaction before and after the
  // write (optional): the audit log's before/after.
  std::function<StatusOr<std::string>(SqlSession&)> snapshot;
};

class ScopedWriteContext {
 public:
  explicit ScopedWriteContext(std::shared_ptr<const WriteContext> context);
  ~ScopedWriteContext();
  ScopedWriteContext(const ScopedWriteContext&) = delete;
  ScopedWriteContext& operator=(const ScopedWriteContext&) = delete;

  // The innermost context open on this thread, or null.
  static std::shared_ptr<const WriteContext> Current();

 private:
  std::shared_ptr<const WriteContext> previous_;
};

// Sees each write that carries a context, inside its transaction.
class WriteObserver {
 public:
  virtual ~WriteObserver() = default;
  // Called after the write's own statements succeeded, in its savepoint:
  // an error undoes the write too. `before`/`after` come from the context's
  // snapshot ("" without one).
  virtual Status Record(SqlSession& db, const WriteContext& context, const std::string& before,
                        const std::string& after) = 0;
};

}  // namespace cairn::store
