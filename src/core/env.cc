#include "core/env.h"

#include <sys/random.h>
#include <chrono>

namespace cairn {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

std::string ToHex(const unsigned char* bytes, size_t n) {
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 0xf];
  }
  return out;
}

class RealEnv : public Env {
 public:
  int64_t NowMicros() override {
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    return duration_cast<microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  int64_t MonotonicNanos() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  std::string RandomHex(size_t n) override {
    std::string bytes(n, '\0');
    size_t filled = 0;
    while (filled < n) {  // getrandom may return fewer bytes than asked when interrupted.
      ssize_t got = getrandom(bytes.data() + filled, n - filled, 0);
      if (got > 0) filled += static_cast<size_t>(got);
    }
    return ToHex(reinterpret_cast<const unsigned char*>(bytes.data()), n);
  }
};

}  // namespace

Env* Env::Default() {
  static Env* env = new RealEnv();  // Intentionally leaked: lives for the process.
  return env;
}

std::string FakeEnv::RandomHex(size_t n) {
  std::string bytes(n, '\0');
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>(rng_() & 0xff);
  return ToHex(reinterpret_cast<const unsigned char*>(bytes.data()), n);
}

}  // namespace cairn
