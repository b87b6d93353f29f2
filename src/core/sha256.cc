#include "core/sha256.h"

#include <sodium.h>

#include <cstdlib>

namespace cairn {
namespace {

static_assert(sizeof(crypto_hash_sha256_state) <= 128, "Sha256::state_ is too small");

// sodium_init picks the fastest implementation; idempotent and thread-safe.
void EnsureInit() {
  static const int initialized = sodium_init();
  (void)initialized;
}

std::string Hex(const unsigned char* digest) {
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), digest, crypto_hash_sha256_BYTES);
  return hex;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  EnsureInit();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return Hex(digest);
}

Sha256::Sha256() {
  EnsureInit();
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_));
}

void Sha256::Update(std::string_view data) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                            reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

std::string Sha256::FinishHex() {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_), digest);
  return Hex(digest);
}

}  // namespace cairn
