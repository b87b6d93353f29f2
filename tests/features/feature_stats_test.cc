// Feature statistics over a small view with known answers: counts, null
// rates, min/max/mean/stddev, quantiles, distinct counts, top categories and
// the newest event; the JSON form round-trips; the store keeps the latest.
#include "features/feature_stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/time_format.h"
#include "features/offline_source.h"
#include "features/repo_loader.h"
#include "status_testing.h"
#include "store/scratch_database.h"

namespace cairn::features {
namespace {

namespace fs = std::filesystem;

TEST(FeatureStatsTest, KnownAnswers) {
  fs::path root = fs::temp_directory_path() / ("cairn_stats_" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  std::ofstream(root / "s.csv") << "id,ts,x,tier,ok\n"
                                   "1,2026-01-01 10:00:00,1.0,gold,true\n"
                                   "2,2026-01-02 10:00:00,2.0,gold,false\n"
                                   "3,2026-01-03 10:00:00,3.0,silver,true\n"
                                   "4,2026-01-04 10:00:00,,,true\n";
  FeatureRepo repo;
  repo.project = "p";
  repo.root = root.string();
  ASSERT_OK(ParseDefinitions(R"yaml(
entities: [{name: e, join_keys: [id]}]
sources: [{name: s, path: s.csv, timestamp_field: ts}]
feature_views:
  - name: v
    entities: [e]
    source: s
    schema: [{name: x, type: Float64}, {name: tier, type: String}, {name: ok, type: Bool}]
)yaml",
                             "defs.yaml", &repo));
  ASSERT_OK_AND_ASSIGN(auto engine, offline::Engine::Open(2));
  ASSERT_OK(RegisterSources(*engine, repo));
  FakeEnv env(*ParseTimestampMicros("2026-01-05T10:00:00Z"));
  ASSERT_OK_AND_ASSIGN(ViewStats s, ComputeViewStats(*engine, repo, repo.feature_views[0], &env));
  EXPECT_EQ(s.rows, 4);
  EXPECT_EQ(*s.newest_event_micros, *ParseTimestampMicros("2026-01-04T10:00:00Z"));
  EXPECT_EQ(*s.oldest_event_micros, *ParseTimestampMicros("2026-01-01T10:00:00Z"));
  ASSERT_EQ(s.features.size(), 3u);
  const FeatureStats& x = s.features[0];
  EXPECT_EQ(x.nulls, 1);
  EXPECT_DOUBLE_EQ(x.null_rate, 0.25);
  EXPECT_DOUBLE_EQ(*x.min, 1.0);
  EXPECT_DOUBLE_EQ(*x.max, 3.0);
  EXPECT_DOUBLE_EQ(*x.mean, 2.0);
  EXPECT_DOUBLE_EQ(*x.stddev, 1.0);
  ASSERT_EQ(x.quantiles.size(), 5u);
  EXPECT_NEAR(x.quantiles[2].second, 2.0, 1e-9);
  const FeatureStats& tier = s.features[1];
  EXPECT_EQ(tier.nulls, 1);
  EXPECT_EQ(*tier.distinct, 2);
  ASSERT_EQ(tier.top.size(), 2u);
  EXPECT_EQ(tier.top[0], (std::pair<std::string, int64_t>{"gold", 2}));
  const FeatureStats& ok = s.features[2];
  EXPECT_DOUBLE_EQ(*ok.mean, 0.75);  // the share of true

  // A window selects rows by event time.
  ASSERT_OK_AND_ASSIGN(ViewStats window,
                       ComputeViewStats(*engine, repo, repo.feature_views[0], &env,
                                        *ParseTimestampMicros("2026-01-02"),
                                        *ParseTimestampMicros("2026-01-03T12:00:00Z")));
  EXPECT_EQ(window.rows, 2);
  EXPECT_DOUBLE_EQ(*window.features[0].mean, 2.5);

  // JSON round trip.
  ASSERT_OK_AND_ASSIGN(ViewStats back, ViewStatsFromJson(ViewStatsToJson(s)));
  EXPECT_EQ(ViewStatsToJson(back), ViewStatsToJson(s));

  // The store keeps the latest per view.
  store::ScratchDatabase database;
  ASSERT_OK(database.Create("sqlite"));
  ASSERT_OK_AND_ASSIGN(auto metadata, database.Open());
  FeatureStatsStore saved(metadata.get());
  ASSERT_OK(saved.Init());
  EXPECT_THAT(saved.Load("p", "v"), ::cairn::testing::StatusIs(StatusCode::kNotFound));
  ASSERT_OK(saved.Save(s));
  ASSERT_OK(saved.Save(window));
  ASSERT_OK_AND_ASSIGN(ViewStats latest, saved.Load("p", "v"));
  EXPECT_EQ(latest.rows, 2);
  ASSERT_OK_AND_ASSIGN(auto all, saved.All("p"));
  EXPECT_EQ(all.size(), 1u);
  fs::remove_all(root);
}

}  // namespace
}  // namespace cairn::features
