// AuditLog: an append-only, hash-chained record of every change made through
// Cairn's surfaces (who, when, what, the request, and the target's state
// before and after), kept in the metadata store (component "audit") so it
// works on SQLite and PostgreSQL alike.
//
// Each entry is written inside the transaction of the change it records
// (it is the store's WriteObserver), so there is never a change without its
// entry or an entry without its change. Entry n carries the SHA-256 of entry
// n-1 and its own SHA-256 over all its fields, so editing, dropping or
// reordering entries breaks the chain where it happened: Verify() says
// which. (Deleting the newest entries leaves a shorter valid chain: keep the
// head hash Verify prints somewhere else to detect that too.)
//
// Thread-safety: Record runs on the store's committing thread; the other
// methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "store/metadata_store.h"
#include "store/write_context.h"

namespace cairn::audit {

struct Entry {
  int64_t seq = 0;
  int64_t time_ms = 0;
  std::string user;
  std::string action;
  std::string target;
  std::string request;
  std::string before;
  std::string after;
  std::string prev_hash;
  std::string hash;
};

struct VerifyReport {
  int64_t entries = 0;
  std::string head_hash;              // The newest entry's hash ("" when empty).
  std::vector<std::string> problems;  // Empty when the chain is intact.
};

class AuditLog : public store::WriteObserver {
 public:
  // `store` and `env` must outlive the log.
  AuditLog(store::MetadataStore* store, Env* env);

  Status Init();

  // store::WriteObserver: appends the entry for one change.
  Status Record(store::SqlSession& db, const store::WriteContext& context,
                const std::string& before, const std::string& after) override;

  // Appends an entry for a change made outside the metadata store (a file
  // written, values pushed to the online store), in a write of its own, and
  // returns once it is durable. Callers record before the change where the
  // change cannot be undone, so a failed append stops it (no change without
  // its entry); the entry then records an attempt, and the request's answer
  // says whether it succeeded.
  Status Append(const store::WriteContext& context);
  // Entries with seq > after_seq, oldest first, at most `limit`.
  StatusOr<std::vector<Entry>> List(int64_t after_seq, int64_t limit);

  // Walks the whole chain. Problems name the entry: edited (its hash does
  // not match its fields), dropped (a gap in the sequence), or reordered or
  // replaced (its previous-hash does not match the entry before it).
  StatusOr<VerifyReport> Verify();

  // The hash an entry must carry, from its other fields.
  static std::string HashOf(const Entry& entry);

 private:
  store::MetadataStore* store_;
  Env* env_;
};

// Requests are kept up to this many bytes; longer ones are cut and end with
// their size and SHA-256, which still identify them.
inline constexpr size_t kMaxRequestBytes = 4096;
std::string BoundedRequest(std::string_view request);

}  // namespace cairn::audit
