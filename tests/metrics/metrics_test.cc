// Tests for the metrics registry and its Prometheus text exposition.
#include "metrics/metrics.h"

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cairn::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(MetricsTest, EmptyRegistryRendersNothing) {
  Registry registry;
  EXPECT_EQ(registry.RenderPrometheus(), "");
}

TEST(MetricsTest, CounterRendersHelpTypeAndValue) {
  Registry registry;
  Counter* c = registry.GetCounter("jobs_total", "Jobs processed.");
  c->Inc();
  c->Inc(4);
  EXPECT_EQ(c->value(), 5u);
  EXPECT_EQ(registry.RenderPrometheus(),
            "# HELP jobs_total Jobs processed.\n"
            "# TYPE jobs_total counter\n"
            "jobs_total 5\n");
}

TEST(MetricsTest, SameNameAndLabelsReturnSameSeries) {
  Registry registry;
  Counter* a = registry.GetCounter("c_total", "C.", {{"k", "v"}});
  Counter* b = registry.GetCounter("c_total", "C.", {{"k", "v"}});
  Counter* other = registry.GetCounter("c_total", "C.", {{"k", "w"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
  a->Inc();
  b->Inc();
  other->Inc(10);
  EXPECT_THAT(Lines(registry.RenderPrometheus()),
              ElementsAre("# HELP c_total C.", "# TYPE c_total counter", "c_total{k=\"v\"} 2",
                          "c_total{k=\"w\"} 10"));
}

TEST(MetricsTest, GaugeRendersSetAndAddedValues) {
  Registry registry;
  Gauge* g = registry.GetGauge("temperature", "Degrees.", {{"room", "lab"}});
  g->Set(1.5);
  g->Add(2);
  g->Add(-0.25);
  EXPECT_DOUBLE_EQ(g->value(), 3.25);
  EXPECT_THAT(Lines(registry.RenderPrometheus()),
              ElementsAre("# HELP temperature Degrees.", "# TYPE temperature gauge",
                          "temperature{room=\"lab\"} 3.25"));
}

TEST(MetricsTest, GaugeConcurrentAddsAreNotLost) {
  Registry registry;
  Gauge* g = registry.GetGauge("in_flight", "Requests.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([g] {
      for (int i = 0; i < 10000; ++i) {
        g->Add(1);
        g->Add(-1);
        g->Add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(g->value(), 40000);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  Histogram* h =
      registry.GetHistogram("latency_seconds", "Latency.", {{"route", "/a"}}, {0.5, 1, 2.5});
  h->Observe(0.25);  // <= 0.5
  h->Observe(0.5);   // Bounds are inclusive (le).
  h->Observe(2);     // <= 2.5
  h->Observe(100);   // +Inf only.
  EXPECT_EQ(h->count(), 4u);
  EXPECT_DOUBLE_EQ(h->sum(), 102.75);
  EXPECT_THAT(h->BucketCounts(), ElementsAre(2u, 0u, 1u, 1u));
  EXPECT_THAT(Lines(registry.RenderPrometheus()),
              ElementsAre("# HELP latency_seconds Latency.", "# TYPE latency_seconds histogram",
                          "latency_seconds_bucket{route=\"/a\",le=\"0.5\"} 2",
                          "latency_seconds_bucket{route=\"/a\",le=\"1\"} 2",
                          "latency_seconds_bucket{route=\"/a\",le=\"2.5\"} 3",
                          "latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4",
                          "latency_seconds_sum{route=\"/a\"} 102.75",
                          "latency_seconds_count{route=\"/a\"} 4"));
}

TEST(MetricsTest, HistogramWithoutLabelsHasOnlyLe) {
  Registry registry;
  Histogram* h = registry.GetHistogram("h", "H.", {}, {1});
  h->Observe(3);
  EXPECT_THAT(Lines(registry.RenderPrometheus()),
              ElementsAre("# HELP h H.", "# TYPE h histogram", "h_bucket{le=\"1\"} 0",
                          "h_bucket{le=\"+Inf\"} 1", "h_sum 3", "h_count 1"));
}

TEST(MetricsTest, DefaultLatencyBoundsAreIncreasing) {
  std::vector<double> bounds = DefaultLatencyBounds();
  ASSERT_FALSE(bounds.empty());
  EXPECT_DOUBLE_EQ(bounds.front(), 0.00005);
  EXPECT_DOUBLE_EQ(bounds.back(), 10);
  for (size_t i = 1; i < bounds.size(); ++i) EXPECT_LT(bounds[i - 1], bounds[i]);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Registry registry;
  registry.GetCounter("c_total", "C.", {{"path", "a\\b \"q\"\nnext"}, {"k", "plain"}})->Inc();
  EXPECT_THAT(registry.RenderPrometheus(),
              HasSubstr("c_total{path=\"a\\\\b \\\"q\\\"\\nnext\",k=\"plain\"} 1\n"));
}

TEST(MetricsTest, HelpTextIsEscaped) {
  // The text format requires '\' and line feeds in HELP to be escaped; an
  // unescaped line feed would start a line the scraper cannot parse.
  Registry registry;
  registry.GetCounter("c_total", "Counts a\\b.\nSecond line.")->Inc();
  EXPECT_THAT(Lines(registry.RenderPrometheus()),
              ElementsAre("# HELP c_total Counts a\\\\b.\\nSecond line.", "# TYPE c_total counter",
                          "c_total 1"));
}

TEST(MetricsTest, FamiliesRenderInCreationOrderWithSeriesGrouped) {
  Registry registry;
  registry.GetGauge("zeta", "Z.")->Set(1);
  registry.GetCounter("alpha_total", "A.", {{"x", "1"}})->Inc();
  registry.GetGauge("zeta", "Z.", {{"y", "2"}})->Set(2);
  EXPECT_THAT(
      Lines(registry.RenderPrometheus()),
      ElementsAre("# HELP zeta Z.", "# TYPE zeta gauge", "zeta 1", "zeta{y=\"2\"} 2",
                  "# HELP alpha_total A.", "# TYPE alpha_total counter", "alpha_total{x=\"1\"} 1"));
}

TEST(MetricsTest, EveryLineIsCommentOrSample) {
  Registry registry;
  registry.GetCounter("a_total", "A.", {{"k", "v"}})->Inc();
  registry.GetGauge("b", "B.")->Set(-2.5);
  registry.GetHistogram("c", "C.", {{"k", "v"}}, DefaultLatencyBounds())->Observe(0.003);
  std::string text = registry.RenderPrometheus();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  for (const std::string& line : Lines(text)) {
    EXPECT_THAT(line, ::testing::MatchesRegex(
                          "# (HELP|TYPE) .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\\{.*\\})? [-+0-9.eInfa]+"))
        << line;
  }
  EXPECT_THAT(text, Not(HasSubstr("nan")));
}

}  // namespace
}  // namespace cairn::metrics
