// SHA-256 (libsodium's), for content digests, credential cache keys and the
// audit log's hash chain.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace cairn {

// Lower-case hex of SHA-256(data), 64 characters.
std::string Sha256Hex(std::string_view data);

// Incremental SHA-256 for data that arrives in pieces (files).
class Sha256 {
 public:
  Sha256();
  ~Sha256() = default;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  // Lower-case hex; the object must not be used afterwards.
  std::string FinishHex();

 private:
  alignas(64) unsigned char state_[128];
};

}  // namespace cairn
