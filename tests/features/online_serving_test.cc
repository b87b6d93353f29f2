// Materialization and online serving on the embedded store and (with
// CAIRN_TEST_REDIS_URI) Redis: statuses, the ttl, the write rule across
// windows and pushes, a registry change reaching a running server, and
// online/offline parity (the online answer at time T equals the training-set
// row at T).
#include "features/online_serving.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/time_format.h"
#include "features/historical.h"
#include "features/materialize.h"
#include "features/offline_source.h"
#include "features/online_writer.h"
#include "features/repo_loader.h"
#include "online/lmdb/lmdb_online_store.h"
#include "online/redis/redis_online_store.h"
#include "status_testing.h"
#include "store/scratch_database.h"

namespace cairn::features {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kDefinitions[] = R"yaml(
entities:
  - {name: driver, join_keys: [driver_id]}
  - {name: city, join_keys: [{name: city, type: String}]}
sources:
  - name: stats_src
    path: stats.csv
    timestamp_field: ts
    created_timestamp_field: created
  - {name: live, type: push, batch_source: stats_src}
feature_views:
  - name: stats
    entities: [driver]
    ttl: 1h
    source: stats_src
    schema: [{name: rate, type: Float64}, {name: trips, type: Int64}, {name: tier, type: String}]
  - name: live_stats
    entities: [driver]
    source: live
    schema: [{name: rate, type: Float64}]
  - name: offline_only
    entities: [driver]
    source: stats_src
    online: false
    schema: [{name: trips, type: Int64}]
on_demand_feature_views:
  - name: derived
    sources: [stats]
    request_schema: [{name: bonus, type: Float64}]
    features:
      - {name: doubled, type: Int64, expression: trips * 2}
      - {name: boosted, type: Float64, expression: "rate + bonus"}
)yaml";

int64_t At(const std::string& text) { return *ParseTimestampMicros(text); }

// Passes calls through to a real store but fails every Write after the first
// `healthy_writes`: a materialization that dies part-way.
class FailingStore : public online::OnlineStore {
 public:
  FailingStore(online::OnlineStore* real, int healthy_writes)
      : real_(real), healthy_writes_(healthy_writes) {}
  std::string DisplayUri() const override { return real_->DisplayUri(); }
  bool ReadsBlock() const override { return real_->ReadsBlock(); }
  StatusOr<online::WriteCounts> Write(std::string_view table,
                                      std::span<const online::OnlineWrite> rows) override {
    if (healthy_writes_-- <= 0) return Unavailable("injected failure");
    return real_->Write(table, rows);
  }
  Status Read(std::string_view table, std::span<const std::string> keys,
              std::vector<std::optional<online::OnlineRecord>>* out) override {
    return real_->Read(table, keys, out);
  }
  Status DropTable(std::string_view table) override { return real_->DropTable(table); }

 private:
  online::OnlineStore* real_;
  int healthy_writes_;
};

class OnlineServingTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("cairn_online_" + std::to_string(getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(root_);
    fs::create_directories(root_);
    WriteStats(
        "driver_id,ts,created,rate,trips,tier\n"
        "1,2026-01-01 10:00:00,2026-01-01 10:00:00,0.5,10,gold\n"
        "1,2026-01-01 11:00:00,2026-01-01 11:00:00,0.6,11,\n"
        "2,2026-01-01 08:00:00,2026-01-01 08:00:00,0.9,3,silver\n");
    ASSERT_OK(database_.Create("sqlite"));
    ASSERT_OK_AND_ASSIGN(metadata_, database_.Open());
    registry_ = std::make_unique<FeatureRegistry>(metadata_.get(), &env_);
    ASSERT_OK(registry_->Init());
    if (GetParam() == "redis") {
      const char* uri = std::getenv("CAIRN_TEST_REDIS_URI");
      if (uri == nullptr || *uri == '\0') GTEST_SKIP() << "set CAIRN_TEST_REDIS_URI for Redis";
      ASSERT_OK_AND_ASSIGN(store_, online::OpenRedisOnlineStore(uri));
    } else {
      ASSERT_OK_AND_ASSIGN(store_, online::OpenLmdbOnlineStore((root_ / "online").string()));
    }
    project_ = "p" + std::to_string(getpid()) + "_" + std::to_string(counter_);
    Apply(kDefinitions);
    serving_ = std::make_unique<OnlineServing>(registry_.get(), store_.get(), &env_, project_);
  }
  void TearDown() override {
    if (store_ != nullptr && registry_ != nullptr) {
      StatusOr<FeatureRepo> repo = registry_->Load(project_);
      for (const FeatureView& v : repo.ok() ? repo->feature_views : std::vector<FeatureView>{}) {
        store_->DropTable(OnlineTable(project_, v)).IgnoreError();
      }
    }
    fs::remove_all(root_);
  }

  void WriteStats(const std::string& csv) { std::ofstream(root_ / "stats.csv") << csv; }

  void Apply(const std::string& yaml) {
    FeatureRepo repo;
    repo.project = project_;
    repo.root = root_.string();
    ASSERT_OK(ParseDefinitions(yaml, "defs.yaml", &repo));
    ASSERT_OK(ValidateRepo(repo));
    int64_t version = 0;
    ASSERT_OK(registry_->Apply(repo, "test", &version).status());
  }

  StatusOr<std::vector<ViewMaterialization>> Materialize(int64_t start, int64_t end,
                                                         bool incremental = false,
                                                         std::vector<std::string> views = {}) {
    ASSIGN_OR_RETURN(FeatureRepo repo, registry_->Load(project_));
    ASSIGN_OR_RETURN(auto engine, offline::Engine::Open(2));
    RETURN_IF_ERROR(RegisterSources(*engine, repo));
    MaterializeRequest request{.views = std::move(views),
                               .start_micros = start,
                               .end_micros = end,
                               .incremental = incremental};
    return features::Materialize(*engine, repo, *registry_, *store_, request);
  }

  StatusOr<OnlineResponse> Get(std::vector<int64_t> drivers, std::vector<std::string> features) {
    OnlineRequest request{.features = std::move(features)};
    std::vector<EntityValue> ids(drivers.begin(), drivers.end());
    request.entities.emplace_back("driver_id", std::move(ids));
    return serving_->GetOnlineFeatures(request);
  }

  static int counter_;
  fs::path root_;
  FakeEnv env_{At("2026-01-01T11:30:00Z")};
  store::ScratchDatabase database_;
  std::unique_ptr<store::MetadataStore> metadata_;
  std::unique_ptr<FeatureRegistry> registry_;
  std::unique_ptr<online::OnlineStore> store_;
  std::unique_ptr<OnlineServing> serving_;
  std::string project_;
};
int OnlineServingTest::counter_ = 0;

TEST_P(OnlineServingTest, MaterializesTheLatestRowAndServesStatuses) {
  ASSERT_OK_AND_ASSIGN(auto done, Materialize(0, At("2026-01-02T00:00:00Z")));
  ASSERT_EQ(done.size(), 2u);  // stats and live_stats (no history: push source's batch is stats)
  EXPECT_EQ(done[0].view, "stats");
  EXPECT_EQ(done[0].rows, 2u);

  ASSERT_OK_AND_ASSIGN(OnlineResponse r,
                       Get({1, 2, 3}, {"stats:rate", "stats:tier", "stats:trips"}));
  ASSERT_EQ(r.columns.size(), 4u);
  EXPECT_EQ(r.columns[0].name, "driver_id");
  const OnlineColumn& rate = r.columns[1];
  EXPECT_EQ(rate.name, "rate");
  EXPECT_EQ(std::get<double>(rate.values[0]), 0.6);
  EXPECT_EQ(rate.statuses[0], FeatureStatus::kPresent);
  EXPECT_EQ(rate.event_micros[0], At("2026-01-01T11:00:00Z"));
  // Driver 2's row is 3.5 hours old against a 1 hour ttl.
  EXPECT_EQ(rate.statuses[1], FeatureStatus::kOutsideMaxAge);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(rate.values[1]));
  EXPECT_EQ(rate.statuses[2], FeatureStatus::kNotFound);
  EXPECT_EQ(rate.event_micros[2], 0);
  // A stored null (driver 1's tier at 11:00).
  EXPECT_EQ(r.columns[2].statuses[0], FeatureStatus::kNullValue);
  EXPECT_EQ(std::get<int64_t>(r.columns[3].values[0]), 11);
}

TEST_P(OnlineServingTest, OnDemandFeaturesUseFetchedValuesAndRequestFields) {
  ASSERT_OK(Materialize(0, At("2026-01-02T00:00:00Z")).status());
  OnlineRequest request{.features = {"derived:doubled", "derived:boosted"}};
  request.entities.emplace_back("driver_id", std::vector<EntityValue>{int64_t{1}, int64_t{3}});
  request.entities.emplace_back("bonus", std::vector<EntityValue>{0.25, int64_t{1}});
  ASSERT_OK_AND_ASSIGN(OnlineResponse r, serving_->GetOnlineFeatures(request));
  ASSERT_EQ(r.columns.size(), 4u);  // driver_id, bonus, doubled, boosted
  EXPECT_EQ(r.columns[2].name, "doubled");
  EXPECT_EQ(std::get<int64_t>(r.columns[2].values[0]), 22);
  EXPECT_EQ(r.columns[2].statuses[0], FeatureStatus::kPresent);
  EXPECT_DOUBLE_EQ(std::get<double>(r.columns[3].values[0]), 0.85);
  EXPECT_EQ(r.columns[2].statuses[1], FeatureStatus::kNullValue);  // driver 3 has nothing
  OnlineRequest no_bonus{.features = {"derived:boosted"}};
  no_bonus.entities.emplace_back("driver_id", std::vector<EntityValue>{int64_t{1}});
  EXPECT_THAT(serving_->GetOnlineFeatures(no_bonus).status().message(),
              HasSubstr("missing 'bonus', a request field of on-demand feature view 'derived'"));
}

// A boolean request field (JSON true/false) reaches expressions as a
// boolean; a boolean where a join key belongs is refused.
TEST_P(OnlineServingTest, BooleanRequestFields) {
  std::string yaml = kDefinitions;
  yaml +=
      "  - name: flagged\n    sources: [stats]\n"
      "    request_schema: [{name: vip, type: Bool}]\n"
      "    features: [{name: weighted, type: Int64, expression: \"if(vip, trips * 10, trips)\"}]\n";
  Apply(yaml);
  ASSERT_OK(Materialize(0, At("2026-01-02T00:00:00Z")).status());
  OnlineRequest request{.features = {"flagged:weighted"}};
  request.entities.emplace_back("driver_id", std::vector<EntityValue>{int64_t{1}, int64_t{1}});
  request.entities.emplace_back("vip", std::vector<EntityValue>{true, false});
  ASSERT_OK_AND_ASSIGN(OnlineResponse r, serving_->GetOnlineFeatures(request));
  ASSERT_EQ(r.columns.size(), 3u);  // driver_id, vip, weighted
  EXPECT_EQ(r.columns[1].type, ValueType::kBool);
  EXPECT_EQ(std::get<int64_t>(r.columns[2].values[0]), 110);
  EXPECT_EQ(std::get<int64_t>(r.columns[2].values[1]), 11);
  OnlineRequest bool_key{.features = {"stats:trips"}};
  bool_key.entities.emplace_back("driver_id", std::vector<EntityValue>{true});
  EXPECT_THAT(serving_->GetOnlineFeatures(bool_key).status().message(),
              HasSubstr("'driver_id' must be an integer"));
}

TEST_P(OnlineServingTest, OlderWindowsAndPushesNeverOverwriteNewerValues) {
  ASSERT_OK(Materialize(0, At("2026-01-02T00:00:00Z")).status());
  // A later run over an earlier window: driver 1's 10:00 row is kept out,
  // driver 2's 08:00 row is the very record stored (rewriting it changes nothing).
  ASSERT_OK_AND_ASSIGN(auto done, Materialize(0, At("2026-01-01T10:30:00Z"), false, {"stats"}));
  EXPECT_EQ(done[0].kept_newer, 1u);
  EXPECT_EQ(done[0].written, 1u);
  ASSERT_OK_AND_ASSIGN(OnlineResponse r, Get({1}, {"stats:trips"}));
  EXPECT_EQ(std::get<int64_t>(r.columns[1].values[0]), 11);

  // A push of an older event is ignored; a newer one wins.
  ASSERT_OK_AND_ASSIGN(FeatureRepo repo, registry_->Load(project_));
  Frame older{{{"driver_id", {int64_t{1}}},
               {"ts", {std::string("2026-01-01T09:00:00Z")}},
               {"trips", {int64_t{99}}}}};
  ASSERT_OK(WriteFrame(repo, *repo.FindFeatureView("stats"), older, *store_).status());
  ASSERT_OK_AND_ASSIGN(r, Get({1}, {"stats:trips"}));
  EXPECT_EQ(std::get<int64_t>(r.columns[1].values[0]), 11);
  Frame newer{{{"driver_id", {int64_t{1}}},
               {"ts", {std::string("2026-01-01 11:15:00")}},
               {"trips", {int64_t{12}}}}};
  ASSERT_OK(WriteFrame(repo, *repo.FindFeatureView("stats"), newer, *store_).status());
  ASSERT_OK_AND_ASSIGN(r, Get({1}, {"stats:trips", "stats:rate"}));
  EXPECT_EQ(std::get<int64_t>(r.columns[1].values[0]), 12);
  EXPECT_EQ(r.columns[2].statuses[0], FeatureStatus::kNullValue);  // not in the frame

  Frame bad{{{"driver_id", {std::string("one")}}, {"ts", {std::string("2026-01-01")}}}};
  EXPECT_THAT(WriteFrame(repo, *repo.FindFeatureView("stats"), bad, *store_).status().message(),
              HasSubstr("df.driver_id[0]: expected Int64"));
  Frame no_ts{{{"driver_id", {int64_t{1}}}}};
  EXPECT_THAT(WriteFrame(repo, *repo.FindFeatureView("stats"), no_ts, *store_).status().message(),
              HasSubstr("missing column 'ts'"));
}

// Materialization picks each entity's latest row itself (sorting rows into
// the store's key order): event time first, then created time, a null
// created time losing; keys sharing a long prefix stay apart; rows without
// their entity are skipped. Several batches exercise the batch seams.
TEST_P(OnlineServingTest, MaterializationKeepsTheLatestRowPerEntity) {
  std::ofstream(root_ / "cities.csv")
      << "city,ts,created,score\n"
         "a-very-long-city-name-001,2026-01-01 10:00:00,2026-01-01 10:00:00,1\n"
         "a-very-long-city-name-002,2026-01-01 10:00:00,2026-01-01 10:00:00,2\n"
         "a-very-long-city-name-001,2026-01-01 10:00:00,2026-01-01 10:05:00,3\n"
         "a-very-long-city-name-001,2026-01-01 10:00:00,,4\n"
         "a-very-long-city-name-002,2026-01-01 09:00:00,2026-01-01 12:00:00,5\n"
         "short,2026-01-01 10:00:00,2026-01-01 10:00:00,6\n"
         "short,2026-01-01 10:00:01,,7\n"
         ",2026-01-01 11:00:00,2026-01-01 11:00:00,8\n";
  std::string yaml = kDefinitions;
  yaml.insert(yaml.find("feature_views:"),
              "  - {name: cities, path: cities.csv, timestamp_field: ts, "
              "created_timestamp_field: created}\n");
  yaml.insert(yaml.find("on_demand_feature_views:"),
              "  - {name: city_scores, entities: [city], source: cities, "
              "schema: [{name: score, type: Int64}]}\n");
  Apply(yaml);
  ASSERT_OK_AND_ASSIGN(FeatureRepo repo, registry_->Load(project_));
  ASSERT_OK_AND_ASSIGN(auto engine, offline::Engine::Open(2));
  ASSERT_OK(RegisterSources(*engine, repo));
  MaterializeRequest request{
      .views = {"city_scores"}, .start_micros = 0, .end_micros = At("2026-01-02T00:00:00Z")};
  request.batch_rows = 2;
  ASSERT_OK_AND_ASSIGN(auto done,
                       features::Materialize(*engine, repo, *registry_, *store_, request));
  EXPECT_EQ(done[0].rows, 3u);
  EXPECT_EQ(done[0].written, 3u);

  OnlineRequest get{.features = {"city_scores:score"}};
  get.entities.emplace_back(
      "city", std::vector<EntityValue>{std::string("a-very-long-city-name-001"),
                                       std::string("a-very-long-city-name-002"),
                                       std::string("short"), std::string("a-very-long-city")});
  ASSERT_OK_AND_ASSIGN(OnlineResponse r, serving_->GetOnlineFeatures(get));
  const OnlineColumn& score = r.columns[1];
  EXPECT_EQ(std::get<int64_t>(score.values[0]), 3);
  EXPECT_EQ(std::get<int64_t>(score.values[1]), 2);
  EXPECT_EQ(std::get<int64_t>(score.values[2]), 7);
  EXPECT_EQ(score.event_micros[2], At("2026-01-01T10:00:01Z"));
  EXPECT_EQ(score.statuses[3], FeatureStatus::kNotFound);
}

TEST_P(OnlineServingTest, IncrementalRunsResumeWhereTheLastEnded) {
  ASSERT_OK_AND_ASSIGN(auto first, Materialize(0, At("2026-01-01T10:30:00Z"), true, {"stats"}));
  // Never materialized: the window starts one ttl before its end.
  EXPECT_EQ(first[0].start_micros, At("2026-01-01T09:30:00Z"));
  EXPECT_EQ(first[0].rows, 1u);  // driver 1 at 10:00 (driver 2 at 08:00 is before the window)
  ASSERT_OK_AND_ASSIGN(auto second, Materialize(0, At("2026-01-01T12:00:00Z"), true, {"stats"}));
  EXPECT_EQ(second[0].start_micros, At("2026-01-01T10:30:00Z"));
  ASSERT_OK_AND_ASSIGN(auto intervals, registry_->Materializations(project_));
  EXPECT_EQ(intervals.size(), 2u);
}

TEST_P(OnlineServingTest, AFailedMaterializationIsFinishedByRunningItAgain) {
  std::string csv = "driver_id,ts,created,rate,trips,tier\n";
  for (int d = 0; d < 250; ++d) {
    csv += std::to_string(d) + ",2026-01-01 10:00:00,2026-01-01 10:00:00,0.5," + std::to_string(d) +
           ",t\n";
  }
  WriteStats(csv);
  ASSERT_OK_AND_ASSIGN(FeatureRepo repo, registry_->Load(project_));
  ASSERT_OK_AND_ASSIGN(auto engine, offline::Engine::Open(2));
  ASSERT_OK(RegisterSources(*engine, repo));
  FailingStore failing(store_.get(), /*healthy_writes=*/1);
  MaterializeRequest request{.views = {"stats"},
                             .start_micros = 0,
                             .end_micros = At("2026-01-02T00:00:00Z"),
                             .batch_rows = 100};
  StatusOr<std::vector<ViewMaterialization>> failed =
      features::Materialize(*engine, repo, *registry_, failing, request);
  EXPECT_THAT(failed, ::cairn::testing::StatusIs(StatusCode::kUnavailable));
  // The first batch landed, the window was not recorded.
  ASSERT_OK_AND_ASSIGN(auto intervals, registry_->Materializations(project_));
  EXPECT_TRUE(intervals.empty());
  // Running it again finishes the job: every entity, each once, current.
  ASSERT_OK_AND_ASSIGN(auto done,
                       features::Materialize(*engine, repo, *registry_, *store_, request));
  EXPECT_EQ(done[0].rows, 250u);
  EXPECT_EQ(done[0].written, 250u);  // the first batch's rows rewrite themselves unchanged
  std::vector<int64_t> all_drivers;
  for (int d = 0; d < 250; ++d) all_drivers.push_back(d);
  env_.SetNowMicros(At("2026-01-01T10:30:00Z"));
  ASSERT_OK_AND_ASSIGN(OnlineResponse r, Get(all_drivers, {"stats:trips"}));
  for (int d = 0; d < 250; ++d) ASSERT_EQ(std::get<int64_t>(r.columns[1].values[d]), d);
}

TEST_P(OnlineServingTest, ErrorsNameWhatIsWrong) {
  EXPECT_THAT(Materialize(0, 1, false, {"offline_only"}).status().message(),
              HasSubstr("online: false"));
  EXPECT_THAT(Materialize(0, 1, false, {"nope"}),
              ::cairn::testing::StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(Get({1}, {"stats:nope"}), ::cairn::testing::StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(Get({1}, {"ghost:x"}), ::cairn::testing::StatusIs(StatusCode::kNotFound));
  OnlineRequest wrong_type{.features = {"stats:rate"}};
  wrong_type.entities.emplace_back("driver_id", std::vector<EntityValue>{std::string("x")});
  EXPECT_THAT(serving_->GetOnlineFeatures(wrong_type).status().message(),
              HasSubstr("'driver_id' must be an integer"));
  OnlineRequest missing{.features = {"stats:rate"}};
  missing.entities.emplace_back("city", std::vector<EntityValue>{std::string("x")});
  EXPECT_THAT(serving_->GetOnlineFeatures(missing).status().message(),
              HasSubstr("missing 'driver_id'"));
  OnlineRequest uneven{.features = {"stats:rate"}};
  uneven.entities.emplace_back("driver_id", std::vector<EntityValue>{int64_t{1}, int64_t{2}});
  uneven.entities.emplace_back("city", std::vector<EntityValue>{std::string("x")});
  EXPECT_THAT(serving_->GetOnlineFeatures(uneven).status().message(),
              HasSubstr("same number of values"));
}

TEST_P(OnlineServingTest, AChangedSchemaNeverServesValuesUnderTheWrongNames) {
  ASSERT_OK(Materialize(0, At("2026-01-02T00:00:00Z"), false, {"stats"}).status());
  std::string reordered = kDefinitions;
  size_t at = reordered.find("schema: [{name: rate, type: Float64}, {name: trips, type: Int64}");
  ASSERT_NE(at, std::string::npos);
  reordered.replace(
      at, std::string("schema: [{name: rate, type: Float64}, {name: trips, type: Int64}").size(),
      "schema: [{name: trips, type: Int64}, {name: rate, type: Float64}");
  Apply(reordered);
  env_.AdvanceMicros(200'000);
  ASSERT_OK_AND_ASSIGN(OnlineResponse r, Get({1}, {"stats:trips"}));
  EXPECT_EQ(r.columns[1].statuses[0], FeatureStatus::kNotFound);  // until materialized again
  ASSERT_OK(Materialize(0, At("2026-01-02T00:00:00Z"), false, {"stats"}).status());
  ASSERT_OK_AND_ASSIGN(r, Get({1}, {"stats:trips"}));
  EXPECT_EQ(std::get<int64_t>(r.columns[1].values[0]), 11);
}

// kDefinitions with one more feature view, `extra`.
std::string WithExtraView() {
  std::string with_extra = kDefinitions;
  with_extra.insert(with_extra.find("on_demand_feature_views:"),
                    "  - name: extra\n    entities: [driver]\n    source: stats_src\n"
                    "    schema: [{name: trips, type: Int64}]\n");
  return with_extra;
}

TEST_P(OnlineServingTest, ARegistryChangeReachesTheRunningServer) {
  ASSERT_OK(Get({1}, {"stats:rate"}).status());
  Apply(WithExtraView());
  EXPECT_THAT(Get({1}, {"extra:trips"}),
              ::cairn::testing::StatusIs(StatusCode::kNotFound));  // cached < 100 ms
  env_.AdvanceMicros(200'000);
  ASSERT_OK_AND_ASSIGN(OnlineResponse r, Get({1}, {"extra:trips"}));
  EXPECT_EQ(r.columns[1].statuses[0], FeatureStatus::kNotFound);  // known, not materialized
}

// With the refresher running, requests never read the registry: a change
// arrives when the refresher's timer fires (the FakeEnv's clock passes it),
// not when a request finds its copy old.
TEST_P(OnlineServingTest, TheRefresherBringsRegistryChangesOnItsTimer) {
  serving_->StartRefresher();
  ASSERT_OK(Get({1}, {"stats:rate"}).status());
  Apply(WithExtraView());
  env_.SetNowMicros(env_.NowMicros() + 10'000'000);  // Time passes, no timer fires.
  EXPECT_THAT(Get({1}, {"extra:trips"}), ::cairn::testing::StatusIs(StatusCode::kNotFound));
  env_.AdvanceMicros(100'000);  // The refresher's period: it reads the registry.
  ASSERT_OK_AND_ASSIGN(OnlineResponse r, Get({1}, {"extra:trips"}));
  EXPECT_EQ(r.columns[1].statuses[0], FeatureStatus::kNotFound);  // known, not materialized
}

// For random entities and times T: materialize everything up to T, then the
// online answer at T is the training-set row at T.
TEST_P(OnlineServingTest, OnlineAnswersEqualHistoricalRetrieval) {
  std::mt19937 rng(11);
  std::string csv = "driver_id,ts,created,rate,trips,tier\n";
  for (int i = 0; i < 400; ++i) {
    int minute = static_cast<int>(rng() % (24 * 60));
    char ts[32];
    std::snprintf(ts, sizeof(ts), "2026-01-01 %02d:%02d:00", minute / 60, minute % 60);
    csv += std::to_string(1 + rng() % 20) + "," + ts + "," + ts + "," +
           std::to_string(static_cast<double>(rng() % 1000) / 1000) + "," + std::to_string(i) +
           ",t\n";
  }
  WriteStats(csv);
  ASSERT_OK_AND_ASSIGN(FeatureRepo repo, registry_->Load(project_));
  for (int probe = 0; probe < 6; ++probe) {
    int64_t t = At("2026-01-01T00:00:00Z") + static_cast<int64_t>(rng() % (24 * 3600)) * 1'000'000;
    ASSERT_OK(store_->DropTable(OnlineTable(project_, *repo.FindFeatureView("stats"))));
    ASSERT_OK(Materialize(0, t, false, {"stats"}).status());
    env_.SetNowMicros(t);  // the ttl is judged against the time asked about

    std::string entities = "driver_id,event_timestamp\n";
    std::vector<int64_t> drivers;
    for (int d = 1; d <= 22; ++d) {
      drivers.push_back(d);
      entities += std::to_string(d) + "," + FormatRfc3339(t) + "\n";
    }
    std::ofstream(root_ / "entities.csv") << entities;
    ASSERT_OK_AND_ASSIGN(auto engine, offline::Engine::Open(2));
    ASSERT_OK(RegisterSources(*engine, repo));
    ASSERT_OK(LoadEntityFile(*engine, (root_ / "entities.csv").string()));
    ASSERT_OK_AND_ASSIGN(auto features,
                         ResolveFeatures(repo, {"stats:trips", "derived:doubled"}, "", false));
    ASSERT_OK_AND_ASSIGN(HistoricalResult result,
                         GetHistoricalFeatures(*engine, repo, {.features = features}));
    ASSERT_OK_AND_ASSIGN(offline::Table offline_rows, engine->Query(result.query));

    ASSERT_OK_AND_ASSIGN(OnlineResponse online, Get(drivers, {"stats:trips", "derived:doubled"}));
    const offline::Column& trips = *offline_rows.Find("trips");
    const offline::Column& doubled = *offline_rows.Find("doubled");
    for (size_t i = 0; i < drivers.size(); ++i) {  // on-demand: one evaluator, same answers
      const FeatureValue& v = online.columns[2].values[i];
      ASSERT_EQ(doubled.IsValid(i), std::holds_alternative<int64_t>(v)) << "driver " << drivers[i];
      if (doubled.IsValid(i)) {
        EXPECT_EQ(std::get<int64_t>(v), doubled.Int(i));
      }
    }
    for (size_t i = 0; i < drivers.size(); ++i) {
      const FeatureValue& v = online.columns[1].values[i];
      if (!trips.IsValid(i)) {
        EXPECT_TRUE(std::holds_alternative<std::monostate>(v))
            << "driver " << drivers[i] << " at " << FormatRfc3339(t);
      } else {
        ASSERT_TRUE(std::holds_alternative<int64_t>(v))
            << "driver " << drivers[i] << " at " << FormatRfc3339(t);
        EXPECT_EQ(std::get<int64_t>(v), trips.Int(i)) << "driver " << drivers[i];
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, OnlineServingTest, ::testing::Values("lmdb", "redis"));

TEST(OnlineTablesLeftBehindTest, NamesRemovedAndReshapedViewsOnly) {
  auto view = [](std::string name, std::vector<Field> schema, bool online = true) {
    FeatureView v;
    v.name = std::move(name);
    v.entities = {"driver"};
    v.schema = std::move(schema);
    v.source = "src";
    v.online = online;
    return v;
  };
  Field trips{"trips", ValueType::kInt64, ""};
  Field rate{"rate", ValueType::kFloat64, ""};
  FeatureRepo before;
  before.project = "p";
  before.feature_views = {view("kept", {trips}), view("removed", {trips}),
                          view("reshaped", {trips, rate}), view("offline_only", {trips}, false)};
  FeatureRepo after;
  after.project = "p";
  FeatureView kept = view("kept", {trips});
  kept.ttl_seconds = 3600;  // Not part of the stored records: same table.
  kept.description = "now documented";
  after.feature_views = {kept, view("reshaped", {rate, trips}), view("added", {trips})};

  EXPECT_THAT(OnlineTablesLeftBehind(before, after),
              ::testing::ElementsAre(OnlineTable("p", before.feature_views[1]),
                                     OnlineTable("p", before.feature_views[2])));
  // Nothing changed, nothing left behind.
  EXPECT_THAT(OnlineTablesLeftBehind(before, before), ::testing::IsEmpty());
}

}  // namespace
}  // namespace cairn::features
