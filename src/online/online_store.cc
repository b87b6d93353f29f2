#include "online/online_store.h"

namespace cairn::online {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Offset binary: flipping the sign bit makes signed order unsigned order,
// and big-endian hex makes that string order.
void AppendTime(std::string& out, int64_t micros) {
  uint64_t v = static_cast<uint64_t>(micros) ^ (uint64_t{1} << 63);
  char hex[16];
  for (int i = 15; i >= 0; --i, v >>= 4) hex[i] = kHex[v & 0xf];
  out.append(hex, sizeof(hex));
}

bool ParseTime(std::string_view hex, int64_t* out) {
  uint64_t v = 0;
  for (char c : hex) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return false;
    v = (v << 4) | static_cast<uint64_t>(digit);
  }
  *out = static_cast<int64_t>(v ^ (uint64_t{1} << 63));
  return true;
}

}  // namespace

void AppendStoredHeader(int64_t event_micros, int64_t created_micros, std::string* out) {
  AppendTime(*out, event_micros);
  AppendTime(*out, created_micros);
}

std::string EncodeStored(const OnlineRecord& record) {
  std::string out;
  out.reserve(kStoredHeaderSize + record.values.size());
  AppendStoredHeader(record.event_micros, record.created_micros, &out);
  out += record.values;
  return out;
}

StatusOr<OnlineRecord> DecodeStored(std::string_view stored) {
  OnlineRecord record;
  if (stored.size() < kStoredHeaderSize || !ParseTime(stored.substr(0, 16), &record.event_micros) ||
      !ParseTime(stored.substr(16, 16), &record.created_micros)) {
    return Internal("online store record is damaged (no valid header); rematerialize the view");
  }
  record.values = std::string(stored.substr(kStoredHeaderSize));
  return record;
}

// By value as the interface declares it: asynchronous stores keep `done`.
void OnlineStore::ReadAsync(std::string_view table, std::vector<std::string> keys,
                            ReadDone done) {  // NOLINT(performance-unnecessary-value-param)
  std::vector<std::optional<OnlineRecord>> records;
  Status status = Read(table, keys, &records);
  done(std::move(status), std::move(records));
}

bool MayReplace(std::string_view existing, std::string_view incoming) {
  return existing.substr(0, kStoredHeaderSize) <= incoming.substr(0, kStoredHeaderSize);
}

}  // namespace cairn::online
