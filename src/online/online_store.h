// OnlineStore: the latest feature values per entity, for serving. One
// interface, two real backends chosen by URI scheme: lmdb:///dir (embedded,
// the default: --data-dir/online; a running server sees what another process,
// such as `cairn features materialize`, wrote) and redis://host:port/db.
//
// Records live in tables (one per feature view: "project/view"), keyed by
// the entity key's bytes. Every write follows one rule in every backend: a
// record replaces the stored one only when its (event time, created time) is
// not older, so an older row never overwrites a newer one, whatever order
// writers run in; writing the same rows twice changes nothing.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/scheme_registry.h"
#include "core/status.h"

namespace cairn::online {

struct OnlineRecord {
  int64_t event_micros = 0;    // when the values were true
  int64_t created_micros = 0;  // when they were written; breaks event-time ties
  std::string values;          // encoded by the caller (features/online_codec.h)
};

// A record to write, already in its stored form (EncodeStored, or
// AppendStoredHeader followed by the values): writers build it once and
// every backend stores those very bytes.
struct OnlineWrite {
  std::string_view key;
  std::string_view stored;
};

struct WriteCounts {
  size_t written = 0;
  size_t kept_newer = 0;  // rows not written because the stored record was newer
};

class OnlineStore {
 public:
  virtual ~OnlineStore() = default;
  virtual std::string DisplayUri() const = 0;

  // Writes `rows` of `table` under the rule above, durably and atomically
  // when the backend allows (LMDB: one transaction; Redis: per batch of keys).
  virtual StatusOr<WriteCounts> Write(std::string_view table,
                                      std::span<const OnlineWrite> rows) = 0;

  // Reads the records of `keys`; (*out)[i] is empty when keys[i] has none.
  virtual Status Read(std::string_view table, std::span<const std::string> keys,
                      std::vector<std::optional<OnlineRecord>>* out) = 0;

  using ReadDone = std::function<void(Status, std::vector<std::optional<OnlineRecord>>)>;
  // Reads like Read and hands the result to `done`, on another thread or
  // before returning, without blocking the caller on the network: Redis
  // queues the read on a connection that pipelines the reads of concurrent
  // requests together. The default runs Read on the caller's thread.
  virtual void ReadAsync(std::string_view table, std::vector<std::string> keys, ReadDone done);

  // True when Read may wait on the network (Redis); false when it reads local
  // memory-mapped pages (LMDB), so a server may run reads on its IO threads.
  virtual bool ReadsBlock() const = 0;

  // Starts bringing the stored records into this process's memory in the
  // background, so the first reads after a start are as fast as later ones;
  // returns at once. A server calls it; a one-off writer need not. The
  // default does nothing (Redis holds its data in its own memory).
  virtual void StartWarmUp() {}

  // Removes every record of `table`.
  virtual Status DropTable(std::string_view table) = 0;
};

// The stored form shared by the backends: a 32-character header whose byte
// order is the (event, created) order, then the values. Comparing two headers
// as strings compares the records' times, which lets Redis apply the write
// rule inside a script without decoding numbers.
std::string EncodeStored(const OnlineRecord& record);
// Starts a stored record in `out`; the encoded values are appended after it.
void AppendStoredHeader(int64_t event_micros, int64_t created_micros, std::string* out);
// Errors: Internal when `stored` is too short to hold a header.
StatusOr<OnlineRecord> DecodeStored(std::string_view stored);
inline constexpr size_t kStoredHeaderSize = 32;
// True when a record stored as `incoming` may replace one stored as `existing`.
bool MayReplace(std::string_view existing, std::string_view incoming);

class OnlineStoreRegistry : public SchemeRegistry<OnlineStore> {
 public:
  OnlineStoreRegistry() : SchemeRegistry("--online-store") {}
};

}  // namespace cairn::online
