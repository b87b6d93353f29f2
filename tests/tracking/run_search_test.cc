// search_runs at a size where the planner's choices matter, on SQLite and on
// PostgreSQL: every filter and order below is checked, page by page, against
// the order MLflow defines, computed here from the seeded data.
//
// The sizes straddle the planner's switch points: a filter matching fewer
// than ~2000 rows is read through its index, a broader one probed run by run;
// an order on a metric or param walks runs with a value, then NaN, then
// missing, and pages must cut across those segments correctly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/env.h"
#include "store/scratch_database.h"
#include "tracking/tracking_service.h"

namespace cairn::tracking {
namespace {

constexpr int kRuns = 3000;
constexpr int kOtherRuns = 400;  // In a second experiment, same keys: must never show up.
constexpr int64_t kStart = 1'700'000'000'000;

// What run i holds. nullopt means the key is absent.
std::optional<double> MetricOf(int i) {
  if (i % 89 == 0) return std::nullopt;
  if (i % 97 == 0) return std::nan("");
  return static_cast<double>((i * 7919) % 1000) / 1000.0;
}
std::optional<std::string> ParamOf(int i) {
  if (i % 101 == 0) return std::nullopt;
  return "v" + std::to_string(i % 13);
}
bool TaggedOf(int i) { return i % 3 == 0; }

struct Seeded {
  int index;
  std::string run_id;
};

class RunSearchTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    Status created = database_.Create(GetParam());
    ASSERT_TRUE(created.ok()) << created.ToString();
    if (database_.skipped()) GTEST_SKIP() << database_.skip_reason();
    auto opened = registry_.Open(database_.uri());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    service_ = std::make_unique<TrackingService>(store_.get(), &env_);
    ASSERT_TRUE(service_->Init().ok());
    auto a = service_->CreateExperiment("search-a", "", {});
    auto b = service_->CreateExperiment("search-b", "", {});
    ASSERT_TRUE(a.ok() && b.ok());
    experiment_ = *a;
    ASSERT_NO_FATAL_FAILURE(Seed(*a, kRuns, &runs_));
    std::vector<Seeded> other;
    ASSERT_NO_FATAL_FAILURE(Seed(*b, kOtherRuns, &other));
  }

  // Creates `count` runs from several threads at once, so that group commit
  // shares fsyncs and seeding takes seconds, not minutes.
  void Seed(const std::string& experiment, int count, std::vector<Seeded>* out) {
    constexpr int kThreads = 16;
    std::vector<std::future<std::vector<Seeded>>> workers;
    for (int t = 0; t < kThreads; ++t) {
      workers.push_back(std::async(std::launch::async, [&, t] {
        std::vector<Seeded> made;
        for (int i = t; i < count; i += kThreads) {
          CreateRunRequest request;
          request.experiment_id = experiment;
          request.start_time = kStart + i;
          auto run = service_->CreateRun(request);
          if (!run.ok()) continue;
          LogBatchRequest batch;
          batch.run_id = run->info.run_id;
          if (auto m = MetricOf(i)) {
            Metric& point = batch.metrics.emplace_back();
            point.key = "m";
            point.value = *m;
            point.timestamp = kStart;
          }
          if (auto p = ParamOf(i)) batch.params.push_back({"p", *p});
          if (TaggedOf(i)) batch.tags.push_back({"t", "yes"});
          std::promise<Status> done;
          service_->LogBatchAsync(batch, [&done](Status s) { done.set_value(s); });
          if (done.get_future().get().ok()) made.push_back({i, run->info.run_id});
        }
        return made;
      }));
    }
    for (auto& w : workers) {
      auto made = w.get();
      out->insert(out->end(), made.begin(), made.end());
    }
    ASSERT_EQ(static_cast<int>(out->size()), count);
  }

  // Every run id the search returns, following page tokens.
  std::vector<std::string> SearchAll(const std::string& filter,
                                     const std::vector<std::string>& order_by, int page_size) {
    std::vector<std::string> ids;
    SearchRunsRequest request;
    request.experiment_ids = {experiment_};
    request.filter = filter;
    request.order_by = order_by;
    request.max_results = page_size;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = service_->SearchRuns(request);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) return ids;
      for (const tracking::Run& run : page->runs) ids.push_back(run.info.run_id);
      if (page->next_page_token.empty()) return ids;
      request.page_token = page->next_page_token;
    }
    ADD_FAILURE() << "paging did not end";
    return ids;
  }

  // MLflow's order: by the first key's rank (value, NaN, missing), then its
  // value, then start_time DESC; start times are unique here.
  using Rank = std::function<std::pair<int, double>(int)>;  // (rank, sort value)
  std::vector<std::string> Expected(const std::function<bool(int)>& match, const Rank& rank) {
    std::vector<Seeded> chosen;
    for (const Seeded& s : runs_) {
      if (match(s.index)) chosen.push_back(s);
    }
    std::sort(chosen.begin(), chosen.end(), [&](const Seeded& a, const Seeded& b) {
      auto ra = rank(a.index);
      auto rb = rank(b.index);
      if (ra != rb) return ra < rb;
      return a.index > b.index;  // start_time DESC
    });
    std::vector<std::string> ids;
    for (const Seeded& s : chosen) ids.push_back(s.run_id);
    return ids;
  }

  store::MetadataStoreRegistry registry_ = store::AllBackends();
  store::ScratchDatabase database_;
  std::unique_ptr<store::MetadataStore> store_;
  FakeEnv env_;
  std::unique_ptr<TrackingService> service_;
  std::string experiment_;
  std::vector<Seeded> runs_;
};

TEST_P(RunSearchTest, FiltersAndOrdersMatchMlflowAcrossPages) {
  auto metric_is = [](const std::function<bool(double)>& test) {
    return [test](int i) {
      auto m = MetricOf(i);
      return m && !std::isnan(*m) && test(*m);
    };
  };
  struct Filter {
    std::string text;
    std::function<bool(int)> match;
  };
  std::vector<Filter> filters = {
      {"", [](int) { return true; }},
      {"metrics.m >= 0.2", metric_is([](double v) { return v >= 0.2; })},    // broad
      {"metrics.m > 0.995", metric_is([](double v) { return v > 0.995; })},  // narrow
      {"params.p = 'v3'", [](int i) { return ParamOf(i) == "v3"; }},
      {"params.p != 'v3'", [](int i) { return ParamOf(i) && *ParamOf(i) != "v3"; }},
      {"params.p LIKE 'v1%' AND tags.t = 'yes'",
       [](int i) { return ParamOf(i) && ParamOf(i)->rfind("v1", 0) == 0 && TaggedOf(i); }},
      {"metrics.m < 0.5 AND params.p != 'v3'",
       [metric_is](int i) {
         return metric_is([](double v) { return v < 0.5; })(i) && ParamOf(i) && *ParamOf(i) != "v3";
       }},
  };
  auto metric_rank = [](bool ascending) -> Rank {
    return [ascending](int i) -> std::pair<int, double> {
      auto m = MetricOf(i);
      if (!m) return {2, 0};
      if (std::isnan(*m)) return {1, 0};
      return {0, ascending ? *m : -*m};
    };
  };
  struct Order {
    std::vector<std::string> order_by;
    Rank rank;
  };
  std::vector<Order> orders = {
      {{},
       [](int) {
         return std::pair<int, double>{0, 0};
       }},
      {{"metrics.m DESC"}, metric_rank(false)},
      {{"metrics.m ASC"}, metric_rank(true)},
      {{"params.p DESC"},
       [](int i) -> std::pair<int, double> {
         auto p = ParamOf(i);
         if (!p) return {2, 0};
         // "v0".."v12" compare as strings; order them the same way.
         std::vector<std::string> all;
         for (int k = 0; k < 13; ++k) all.push_back("v" + std::to_string(k));
         std::sort(all.begin(), all.end());
         auto pos = std::find(all.begin(), all.end(), *p) - all.begin();
         return {0, -static_cast<double>(pos)};
       }},
      {{"attributes.start_time ASC"},
       [](int i) {
         return std::pair<int, double>{0, static_cast<double>(i)};
       }},
  };
  for (const Filter& f : filters) {
    for (const Order& o : orders) {
      std::vector<std::string> expected = Expected(f.match, o.rank);
      std::string label =
          "filter '" + f.text + "' order_by '" + (o.order_by.empty() ? "" : o.order_by[0]) + "'";
      EXPECT_EQ(SearchAll(f.text, o.order_by, 700), expected) << label;
    }
  }
}

TEST_P(RunSearchTest, SmallPagesCrossEverySegmentBoundary) {
  // The runs with p = 'v0' (about 230) include two with m = NaN (1261, 2522)
  // and two without m (1157, 2314): pages of 7 must stitch the value, NaN and
  // missing segments together without a gap or a repeat.
  auto filter = "params.p = 'v0'";
  auto match = [](int i) { return ParamOf(i) == "v0"; };
  auto rank = [](int i) -> std::pair<int, double> {
    auto m = MetricOf(i);
    if (!m) return {2, 0};
    if (std::isnan(*m)) return {1, 0};
    return {0, -*m};
  };
  EXPECT_EQ(SearchAll(filter, {"metrics.m DESC"}, 7), Expected(match, rank));
}

INSTANTIATE_TEST_SUITE_P(Backends, RunSearchTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace cairn::tracking
