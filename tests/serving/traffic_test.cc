// The pure parts of traffic between variants: the spec's checks and JSON
// form, weighted and sticky choice, latency quantiles, and the canary judge.
#include "serving/traffic.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "serving/deployment_spec.h"
#include "status_testing.h"

namespace cairn::serving {
namespace {

using ::testing::HasSubstr;
using testing::StatusIs;

TEST(DeploymentSpecTest, ParsesBothFormsAndRoundTrips) {
  auto single = ParseDeploymentSpec(R"({"name": "churn", "model_uri": "models:/churn/1"})");
  ASSERT_OK(single.status());
  ASSERT_EQ(single->variants.size(), 1u);
  EXPECT_EQ(single->variants[0].name, "primary");
  EXPECT_EQ(single->variants[0].weight, 100);

  auto full = ParseDeploymentSpec(R"({"name": "churn", "sticky_header": "X-User-Id",
    "variants": [{"name": "stable", "model_uri": "models:/churn/1", "weight": 90},
                 {"name": "canary", "model_uri": "models:/churn/2", "weight": 10},
                 {"name": "next", "model_uri": "models:/churn/3", "shadow": true,
                  "mirror_percent": 25}],
    "rollout": {"steps": [10, 50, 100], "min_samples": 50, "max_error_rate_increase": 0.02},
    "batching": {"max_batch_rows": 32, "max_queue_delay_us": 500}})");
  ASSERT_OK(full.status());
  EXPECT_EQ(full->sticky_header, "x-user-id");  // read as requests' headers are
  EXPECT_TRUE(full->variants[2].shadow);
  EXPECT_EQ(full->variants[2].weight, 0);
  EXPECT_EQ(full->variants[2].mirror_percent, 25);
  ASSERT_TRUE(full->rollout.has_value());
  EXPECT_EQ(full->rollout->steps, (std::vector<int>{10, 50, 100}));
  EXPECT_EQ(full->rollout->max_p99_increase_ms, 50);  // the default

  ASSERT_TRUE(full->batching.has_value());
  EXPECT_EQ(full->batching->max_batch_rows, 32);
  EXPECT_EQ(full->batching->max_queue_delay_us, 500);
  EXPECT_EQ(full->batching->max_queue_requests, 1024);  // the defaults
  EXPECT_EQ(full->batching->queue_timeout_ms, 1000);
  EXPECT_FALSE(single->batching.has_value());

  auto again = ParseDeploymentSpec(DeploymentSpecJson(*full));
  ASSERT_OK(again.status());
  EXPECT_EQ(DeploymentSpecJson(*again), DeploymentSpecJson(*full));
}

TEST(DeploymentSpecTest, BadSpecsNameTheField) {
  struct Case {
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {R"({"model_uri": "models:/m/1"})", "name is required"},
      {R"({"name": "x"})", "model_uri, variants or follow is required"},
      {R"({"name": "x", "model_uri": "m", "follow": "models:/m@a"})", "not both"},
      {R"({"name": "x", "follow": "models:/m@a", "log_percent": 101})",
       "log_percent must be 0-100"},
      {R"({"name": "x", "follow": "models:/m@a", "rollout": {"steps": [50, 10]}})",
       "increasing percents"},
      {R"({"name": "x", "follow": "models:/m@a", "sticky_header": "a b"})", "not a header name"},
      {R"({"name": "x", "model_uri": "models:/m/1", "variants": []})", "not both"},
      {R"({"name": "x", "variants": {}})", "variants must be a list"},
      {R"({"name": "x", "variants": [{"name": "a"}]})", "variants[0].model_uri is required"},
      {R"({"name": "x", "variants": [{"name": "A", "model_uri": "m"}]})", "variants[0].name 'A'"},
      {R"({"name": "x", "variants": [{"name": "a", "model_uri": "m"}, {"name": "a", "model_uri": "m"}]})",
       "used twice"},
      {R"({"name": "x", "variants": [{"name": "a", "model_uri": "m", "weight": "9"}]})",
       "variants[0].weight must be an integer"},
      {R"({"name": "x", "variants": [{"name": "a", "model_uri": "m", "weight": 0}]})",
       "no live variant"},
      {R"({"name": "x", "variants": [{"name": "a", "model_uri": "m", "weight": 2000000}]})",
       "variants[0].weight must be 0-1000000"},
      {R"({"name": "x", "variants": [{"name": "a", "model_uri": "m"}, {"name": "s", "model_uri": "m", "shadow": true, "weight": 5}]})",
       "takes mirror_percent, not a weight"},
      {R"({"name": "x", "variants": [{"name": "a", "model_uri": "m"}, {"name": "s", "model_uri": "m", "shadow": true, "mirror_percent": 101}]})",
       "mirror_percent must be 0-100"},
      {R"({"name": "x", "model_uri": "m", "rollout": {"steps": [10]}})",
       "exactly two live variants"},
      {R"({"name": "x", "variants": [{"name": "a", "model_uri": "m"}, {"name": "b", "model_uri": "m"}], "rollout": {"steps": [50, 10]}})",
       "increasing percents"},
      {R"({"name": "x", "variants": [{"name": "a", "model_uri": "m"}, {"name": "b", "model_uri": "m"}], "rollout": {"min_samples": 0}})",
       "min_samples"},
      {R"({"name": "x", "model_uri": "m", "sticky_header": "x y"})", "not a header name"},
      {R"({"name": "x", "model_uri": "m", "batching": 64})", "batching must be an object"},
      {R"({"name": "x", "model_uri": "m", "batching": {"max_batch_rows": 0}})",
       "batching.max_batch_rows must be 1-65536 rows, got 0"},
      {R"({"name": "x", "model_uri": "m", "batching": {"max_batch_rows": "8"}})",
       "batching.max_batch_rows must be an integer"},
      {R"({"name": "x", "model_uri": "m", "batching": {"max_queue_delay_us": -1}})",
       "batching.max_queue_delay_us must be 0-1000000"},
      {R"({"name": "x", "model_uri": "m", "batching": {"max_queue_requests": 0}})",
       "batching.max_queue_requests"},
      {R"({"name": "x", "model_uri": "m", "batching": {"max_queue_delay_us": 5000, "queue_timeout_ms": 5}})",
       "must be longer than max_queue_delay_us"},
      {R"([1])", "JSON object"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseDeploymentSpec(c.json),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.json;
  }
}

TEST(TrafficTest, PickByWeightCoversEachRangeExactly) {
  const std::vector<int64_t> weights = {1, 0, 3};
  std::vector<int> seen(3);
  // Draws spread over the 64-bit range land in proportion 1 : 0 : 3.
  for (uint64_t i = 0; i < 4000; ++i) ++seen[PickByWeight(weights, StickyDraw(std::to_string(i)))];
  EXPECT_EQ(seen[1], 0);
  EXPECT_NEAR(seen[0], 1000, 150);
  EXPECT_EQ(seen[0] + seen[2], 4000);
  EXPECT_EQ(PickByWeight(std::vector<int64_t>{0, 0}, 12345), -1);
  EXPECT_EQ(PickByWeight(std::vector<int64_t>{}, 1), -1);
  EXPECT_EQ(StickyDraw("user-1"), StickyDraw("user-1"));
  EXPECT_NE(StickyDraw("user-1"), StickyDraw("user-2"));
  EXPECT_NE(RandomDraw(), RandomDraw());
}

TEST(TrafficTest, LatencyQuantilesAreBucketEdgesAboveTheValue) {
  VariantStats stats;
  for (int i = 0; i < 99; ++i) stats.Record(10'000, false);  // 10 µs
  stats.Record(5'000'000, true);                             // 5 ms
  TrafficCounts c = stats.Snapshot();
  EXPECT_EQ(c.requests, 100);
  EXPECT_EQ(c.errors, 1);
  EXPECT_GE(c.LatencyQuantileMs(0.5), 0.010);
  EXPECT_LT(c.LatencyQuantileMs(0.5), 0.010 * 1.19);
  EXPECT_LT(c.LatencyQuantileMs(0.99), 0.012);
  EXPECT_GE(c.LatencyQuantileMs(1.0), 5.0);
  EXPECT_LT(c.LatencyQuantileMs(1.0), 5.0 * 1.19);
  EXPECT_EQ(TrafficCounts().LatencyQuantileMs(0.99), 0);
  EXPECT_EQ(VariantStats::BucketOf(0), 0);
  EXPECT_EQ(VariantStats::BucketOf(int64_t{1} << 62), TrafficCounts::kLatencyBuckets - 1);
}

TrafficCounts Window(int64_t requests, int64_t errors, int64_t latency_nanos) {
  VariantStats stats;
  for (int64_t i = 0; i < requests; ++i) stats.Record(latency_nanos, i < errors);
  return stats.Snapshot();
}

TEST(TrafficTest, TheJudgeHoldsAdvancesAndRollsBack) {
  RolloutPolicy policy;
  policy.min_samples = 200;
  policy.max_error_rate_increase = 0.01;
  policy.max_p99_increase_ms = 5;
  const TrafficCounts stable = Window(2000, 20, 100'000);  // 1% errors, 0.1 ms
  EXPECT_EQ(JudgeCanary(policy, stable, Window(199, 199, 100'000)).decision,
            RolloutDecision::kHold);  // too few to judge, however bad
  EXPECT_EQ(JudgeCanary(policy, stable, Window(200, 3, 100'000)).decision,
            RolloutDecision::kAdvance);  // 1.5%: within the margin
  // 4% against 1% + 1 point on 200 samples: z = 0.02 / 0.0141 = 1.4, noise.
  EXPECT_EQ(JudgeCanary(policy, stable, Window(200, 8, 100'000)).decision,
            RolloutDecision::kAdvance);
  Judgement bad = JudgeCanary(policy, stable, Window(1000, 100, 100'000));  // 10%
  EXPECT_EQ(bad.decision, RolloutDecision::kRollBack);
  EXPECT_THAT(bad.reason, HasSubstr("error rate 10.00% (100 of 1000)"));
  Judgement slow = JudgeCanary(policy, stable, Window(300, 0, 20'000'000));  // 20 ms
  EXPECT_EQ(slow.decision, RolloutDecision::kRollBack);
  EXPECT_THAT(slow.reason, HasSubstr("p99 latency"));
  policy.max_p99_increase_ms = 0;  // latency not judged
  EXPECT_EQ(JudgeCanary(policy, stable, Window(300, 0, 20'000'000)).decision,
            RolloutDecision::kAdvance);
}

}  // namespace
}  // namespace cairn::serving
