// Env: the handle through which domain code reaches the clock and randomness
// (LevelDB's Env, Envoy's TimeSource). Production code uses Env::Default();
// tests pass a FakeEnv with simulated time and seeded randomness.
//
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace cairn {

class Env {
 public:
  virtual ~Env() = default;

  // Wall-clock time since the Unix epoch.
  virtual int64_t NowMicros() = 0;
  int64_t NowMillis() { return NowMicros() / 1000; }

  // A monotonic clock for durations; unrelated to wall time.
  virtual int64_t MonotonicNanos() = 0;

  // `n` cryptographically unpredictable bytes, hex encoded (2n characters).
  virtual std::string RandomHex(size_t n) = 0;

  // The process-wide real environment. Never destroyed.
  static Env* Default();
};

// Deterministic Env for tests: time moves only when told to.
class FakeEnv : public Env {
 public:
  explicit FakeEnv(int64_t start_micros = 1'700'000'000'000'000, uint64_t seed = 42)
      : now_micros_(start_micros), rng_(seed) {}

  int64_t NowMicros() override { return now_micros_.load(); }
  int64_t MonotonicNanos() override { return now_micros_.load() * 1000; }
  std::string RandomHex(size_t n) override;

  void AdvanceMicros(int64_t delta) { now_micros_ += delta; }
  void SetNowMicros(int64_t now) { now_micros_ = now; }

 private:
  std::atomic<int64_t> now_micros_;
  std::mutex mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(mu_)
};

}  // namespace cairn
