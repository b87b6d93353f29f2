// Traffic between a deployment's variants: the live figures each variant
// keeps (lock-free, on the request path), choosing a variant for a request
// (weighted, or stable per sticky key), and judging a canary against the
// stable variant (the rollout's advance / hold / roll back decision).
//
// Thread-safety: VariantStats is safe from any thread; the rest is pure.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/mutex.h"
#include "serving/deployment_spec.h"

namespace cairn::serving {

// A point-in-time copy of a variant's counters; windows are differences.
struct TrafficCounts {
  static constexpr int kLatencyBuckets = 96;  // 4 per doubling from 1 µs (to about 17 min)
  int64_t requests = 0;
  int64_t errors = 0;  // the model failed (not the caller's bad input)
  std::array<int64_t, kLatencyBuckets> latency{};
  // Shadows only: copies mirrored, compared with the live answer, equal to
  // it, failed, and dropped because the shadow queue was full.
  int64_t mirrored = 0;
  int64_t compared = 0;
  int64_t agreed = 0;
  int64_t shadow_failed = 0;
  int64_t dropped = 0;
  double abs_diff_sum = 0;  // over compared elements
  int64_t diff_elements = 0;

  TrafficCounts Minus(const TrafficCounts& earlier) const;
  // The latency at quantile q (0-1) in milliseconds: the upper edge of the
  // bucket holding it (within 19% above the true value); 0 without requests.
  double LatencyQuantileMs(double q) const;
  double ErrorRate() const { return requests ? static_cast<double>(errors) / requests : 0; }
};

class VariantStats {
 public:
  void Record(int64_t nanos, bool failed);
  void RecordMirror(bool dropped);
  // One shadow answer against the live one: `elements` compared with the
  // sum of absolute differences `abs_diff`; `equal` when every element agreed.
  void RecordComparison(bool failed, bool equal, double abs_diff, int64_t elements);
  TrafficCounts Snapshot() const;

  static int BucketOf(int64_t nanos);

 private:
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> errors_{0};
  std::array<std::atomic<int64_t>, TrafficCounts::kLatencyBuckets> latency_{};
  std::atomic<int64_t> mirrored_{0};
  std::atomic<int64_t> dropped_{0};
  mutable Mutex shadow_mu_;  // off the request path (shadow worker)
  int64_t compared_ GUARDED_BY(shadow_mu_) = 0;
  int64_t agreed_ GUARDED_BY(shadow_mu_) = 0;
  int64_t shadow_failed_ GUARDED_BY(shadow_mu_) = 0;
  double abs_diff_sum_ GUARDED_BY(shadow_mu_) = 0;
  int64_t diff_elements_ GUARDED_BY(shadow_mu_) = 0;
};

// The index whose cumulative weight range holds `draw` (uniform over 64
// bits), or -1 when every weight is 0. Weights are non-negative.
int PickByWeight(std::span<const int64_t> weights, uint64_t draw);

// A uniform 64-bit draw that is the same for the same key (sticky routing:
// FNV-1a, then a mixing step so nearby keys spread).
uint64_t StickyDraw(std::string_view key);
// A fresh uniform draw (per-thread generator).
uint64_t RandomDraw();

enum class RolloutDecision { kHold, kAdvance, kRollBack };
struct Judgement {
  RolloutDecision decision = RolloutDecision::kHold;
  std::string reason;  // why: for status, logs and the audit entry
};

// Compares the canary's window with stable's over the same time. Rolls back
// when the canary's error rate exceeds stable's by more than the margin with
// a one-sided z test at z > 3.09 (p < 0.001: the test is repeated as the
// window grows, so a single-test 0.05 would fire on noise), or when its p99
// exceeds stable's by more than max_p99_increase_ms; both need min_samples
// canary requests. Advances when the canary has min_samples and is not worse.
Judgement JudgeCanary(const RolloutPolicy& policy, const TrafficCounts& stable,
                      const TrafficCounts& canary);

}  // namespace cairn::serving
