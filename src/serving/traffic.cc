#include "serving/traffic.h"

#include <bit>
#include <cmath>
#include <cstdio>

namespace cairn::serving {

TrafficCounts TrafficCounts::Minus(const TrafficCounts& earlier) const {
  TrafficCounts d = *this;
  d.requests -= earlier.requests;
  d.errors -= earlier.errors;
  for (int i = 0; i < kLatencyBuckets; ++i) d.latency[i] -= earlier.latency[i];
  d.mirrored -= earlier.mirrored;
  d.compared -= earlier.compared;
  d.agreed -= earlier.agreed;
  d.shadow_failed -= earlier.shadow_failed;
  d.dropped -= earlier.dropped;
  d.abs_diff_sum -= earlier.abs_diff_sum;
  d.diff_elements -= earlier.diff_elements;
  return d;
}

namespace {
// Bucket i holds latencies up to 1 µs * 2^((i+1)/4).
double BucketUpperMs(int i) { return 1e-3 * std::exp2((i + 1) / 4.0); }
}  // namespace

int VariantStats::BucketOf(int64_t nanos) {
  if (nanos <= 1000) return 0;
  // 4 buckets per doubling: log2(nanos / 1000) * 4, rounded up.
  const int bucket =
      static_cast<int>(std::ceil(std::log2(static_cast<double>(nanos) / 1000) * 4)) - 1;
  return std::min(std::max(bucket, 0), TrafficCounts::kLatencyBuckets - 1);
}

double TrafficCounts::LatencyQuantileMs(double q) const {
  int64_t total = 0;
  for (int64_t c : latency) total += c;
  if (total == 0) return 0;
  const auto rank = static_cast<int64_t>(std::ceil(q * static_cast<double>(total)));
  int64_t seen = 0;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    seen += latency[i];
    if (seen >= std::max<int64_t>(rank, 1)) return BucketUpperMs(i);
  }
  return BucketUpperMs(kLatencyBuckets - 1);
}

void VariantStats::Record(int64_t nanos, bool failed) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (failed) errors_.fetch_add(1, std::memory_order_relaxed);
  latency_[BucketOf(nanos)].fetch_add(1, std::memory_order_relaxed);
}

void VariantStats::RecordMirror(bool dropped) {
  mirrored_.fetch_add(1, std::memory_order_relaxed);
  if (dropped) dropped_.fetch_add(1, std::memory_order_relaxed);
}

void VariantStats::RecordComparison(bool failed, bool equal, double abs_diff, int64_t elements) {
  MutexLock lock(&shadow_mu_);
  if (failed) {
    ++shadow_failed_;
    return;
  }
  ++compared_;
  if (equal) ++agreed_;
  abs_diff_sum_ += abs_diff;
  diff_elements_ += elements;
}

TrafficCounts VariantStats::Snapshot() const {
  TrafficCounts c;
  c.requests = requests_.load(std::memory_order_relaxed);
  c.errors = errors_.load(std::memory_order_relaxed);
  for (int i = 0; i < TrafficCounts::kLatencyBuckets; ++i) {
    c.latency[i] = latency_[i].load(std::memory_order_relaxed);
  }
  c.mirrored = mirrored_.load(std::memory_order_relaxed);
  c.dropped = dropped_.load(std::memory_order_relaxed);
  MutexLock lock(&shadow_mu_);
  c.compared = compared_;
  c.agreed = agreed_;
  c.shadow_failed = shadow_failed_;
  c.abs_diff_sum = abs_diff_sum_;
  c.diff_elements = diff_elements_;
  return c;
}

int PickByWeight(std::span<const int64_t> weights, uint64_t draw) {
  uint64_t total = 0;
  for (int64_t w : weights) total += static_cast<uint64_t>(w);
  if (total == 0) return -1;
  // total is at most 16 * 10^6, so the modulo's bias is below 10^-12.
  const uint64_t point = draw % total;
  uint64_t upto = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    upto += static_cast<uint64_t>(weights[i]);
    if (point < upto) return static_cast<int>(i);
  }
  return -1;  // unreachable: point < total
}

namespace {
uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t StickyDraw(std::string_view key) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ULL;
  return Mix(h);
}

uint64_t RandomDraw() {
  thread_local uint64_t state =
      Mix(reinterpret_cast<uintptr_t>(&state) ^ static_cast<uint64_t>(std::time(nullptr)));
  state += 0x9e3779b97f4a7c15ULL;
  return Mix(state);
}

Judgement JudgeCanary(const RolloutPolicy& policy, const TrafficCounts& stable,
                      const TrafficCounts& canary) {
  char text[256];
  if (canary.requests < policy.min_samples) {
    std::snprintf(text, sizeof text, "canary has %lld of %lld requests needed to judge",
                  static_cast<long long>(canary.requests),
                  static_cast<long long>(policy.min_samples));
    return {RolloutDecision::kHold, text};
  }
  const double pc = canary.ErrorRate();
  const double ps = stable.ErrorRate();
  const double margin = policy.max_error_rate_increase;
  if (pc - ps > margin) {
    const double var = pc * (1 - pc) / static_cast<double>(canary.requests) +
                       (stable.requests ? ps * (1 - ps) / static_cast<double>(stable.requests) : 0);
    const double z = var > 0 ? (pc - ps - margin) / std::sqrt(var) : INFINITY;
    if (z > 3.09) {
      std::snprintf(text, sizeof text,
                    "canary error rate %.2f%% (%lld of %lld) is above stable's %.2f%% by more "
                    "than %.2f points (z = %.1f)",
                    100 * pc, static_cast<long long>(canary.errors),
                    static_cast<long long>(canary.requests), 100 * ps, 100 * margin, z);
      return {RolloutDecision::kRollBack, text};
    }
  }
  // A p99 needs about a hundred answers on each side to mean anything.
  if (policy.max_p99_increase_ms > 0 && canary.requests >= 100 && stable.requests >= 100) {
    const double p99c = canary.LatencyQuantileMs(0.99);
    const double p99s = stable.LatencyQuantileMs(0.99);
    if (p99c > p99s + policy.max_p99_increase_ms) {
      std::snprintf(text, sizeof text,
                    "canary p99 latency %.3f ms is above stable's %.3f ms by more than %.3f ms",
                    p99c, p99s, policy.max_p99_increase_ms);
      return {RolloutDecision::kRollBack, text};
    }
  }
  std::snprintf(text, sizeof text,
                "canary answered %lld requests, error rate %.2f%% (stable %.2f%%)",
                static_cast<long long>(canary.requests), 100 * pc, 100 * ps);
  return {RolloutDecision::kAdvance, text};
}

}  // namespace cairn::serving
