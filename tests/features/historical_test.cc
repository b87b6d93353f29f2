// Training-set retrieval end to end through DuckDB, from CSV and Parquet
// files a test writes: output shape and order, field mappings, SQL sources
// and transformations, services with aliases, and the errors users meet.
#include "features/historical.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "features/offline_source.h"
#include "features/repo_loader.h"
#include "status_testing.h"

namespace cairn::features {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kDefinitions[] = R"yaml(
entities:
  - {name: driver, join_keys: [driver_id], value_type: Int64}
  - name: route
    join_keys: [{name: city, type: String}, {name: route_no, type: Int32}]
sources:
  - name: driver_src
    path: driver.csv
    timestamp_field: ts
    created_timestamp_field: created
    field_mapping: {conv: conv_rate}
  - name: route_parquet
    path: route.parquet
    timestamp_field: ts
  - name: busy_routes
    query: SELECT * FROM route_parquet WHERE load > 0.5
    timestamp_field: ts
feature_views:
  - name: driver_stats
    entities: [driver]
    ttl: 1h
    source: driver_src
    schema: [{name: conv_rate, type: Float64}, {name: trips, type: Int64}]
  - name: route_stats
    entities: [route]
    source: route_parquet
    schema: [{name: load, type: Float32}]
  - name: busy
    entities: [route]
    source: busy_routes
    schema: [{name: load_pct, type: Float64}]
    transformation: SELECT *, load * 100 AS load_pct FROM source
on_demand_feature_views:
  - name: derived
    sources: [driver_stats]
    request_schema: [{name: bonus, type: Float64}]
    features:
      - {name: trips_plus, type: Float64, expression: trips + bonus}
      - {name: busy, type: Bool, expression: conv_rate > 0.65}
      - {name: label, type: String, expression: "if(trips >= 12, 'high', 'low')"}
feature_services:
  - name: svc
    features:
      - {view: driver_stats, features: [trips], alias: d}
      - route_stats
)yaml";

class HistoricalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("cairn_hist_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    Write("driver.csv",
          "driver_id,ts,created,conv,trips\n"
          "1,2026-01-01 10:00:00,2026-01-01 10:00:00,0.5,10\n"
          "1,2026-01-01 11:00:00,2026-01-01 11:00:00,0.6,11\n"
          "1,2026-01-01 11:00:00,2026-01-01 11:05:00,0.7,12\n"
          "2,2026-01-01 08:00:00,2026-01-01 08:00:00,0.9,3\n");
    ASSERT_OK_AND_ASSIGN(engine_, offline::Engine::Open(2));
    ASSERT_OK(engine_->Execute(
        "COPY (SELECT * FROM (VALUES ('paris', 1, TIMESTAMP '2026-01-01 09:00:00', 0.4::FLOAT), "
        "('paris', 1, TIMESTAMP '2026-01-01 10:00:00', 0.8::FLOAT), "
        "('paris', 2, TIMESTAMP '2026-01-01 09:00:00', 0.9::FLOAT)) "
        "t(city, route_no, ts, load)) TO '" +
        (root_ / "route.parquet").string() + "' (FORMAT parquet)"));
    repo_.project = "p";
    repo_.root = root_.string();
    ASSERT_OK(ParseDefinitions(kDefinitions, "defs.yaml", &repo_));
    ASSERT_OK(ValidateRepo(repo_));
    ASSERT_OK(RegisterSources(*engine_, repo_));
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(root_ / name) << text;
  }

  StatusOr<offline::Table> Retrieve(const std::string& entities_csv,
                                    const std::vector<std::string>& refs,
                                    const std::string& service = "", bool full_names = false) {
    Write("entities.csv", entities_csv);
    RETURN_IF_ERROR(LoadEntityFile(*engine_, (root_ / "entities.csv").string()));
    ASSIGN_OR_RETURN(auto features, ResolveFeatures(repo_, refs, service, full_names));
    HistoricalRequest request{.features = features};
    ASSIGN_OR_RETURN(HistoricalResult result, GetHistoricalFeatures(*engine_, repo_, request));
    return engine_->Query(result.query);
  }

  fs::path root_;
  std::unique_ptr<offline::Engine> engine_;
  FeatureRepo repo_;
};

std::vector<std::string> Names(const offline::Table& t) {
  std::vector<std::string> out;
  for (const auto& c : t.columns) out.push_back(c.name());
  return out;
}

TEST_F(HistoricalTest, JoinsPointInTimeAndKeepsEveryEntityRowInOrder) {
  ASSERT_OK_AND_ASSIGN(
      offline::Table t,
      Retrieve("driver_id,event_timestamp,label\n"
               "1,2026-01-01 11:30:00,a\n"   // the 11:00 tie: the later-created row
               "1,2026-01-01 11:30:00,b\n"   // same keys and time: kept, not merged
               "1,2026-01-01 10:59:59,c\n"   // the 10:00 row
               "2,2026-01-01 09:00:00,d\n"   // exactly ttl (1h) after 08:00: inclusive
               "2,2026-01-01 09:00:01,e\n"   // one second outside the ttl
               "3,2026-01-01 12:00:00,f\n",  // unknown driver
               {"driver_stats:conv_rate", "driver_stats:trips"}));
  EXPECT_THAT(Names(t), ElementsAre("driver_id", "event_timestamp", "label", "conv_rate", "trips"));
  ASSERT_EQ(t.rows(), 6u);
  const offline::Column& label = *t.Find("label");
  const offline::Column& trips = *t.Find("trips");
  std::vector<std::string> labels;
  for (size_t i = 0; i < t.rows(); ++i) labels.emplace_back(label.String(i));
  EXPECT_THAT(labels, ElementsAre("a", "b", "c", "d", "e", "f"));
  EXPECT_EQ(trips.Int(0), 12);
  EXPECT_EQ(trips.Int(1), 12);
  EXPECT_EQ(trips.Int(2), 10);
  EXPECT_EQ(trips.Int(3), 3);
  EXPECT_FALSE(trips.IsValid(4));
  EXPECT_FALSE(trips.IsValid(5));
  EXPECT_DOUBLE_EQ(t.Find("conv_rate")->Double(0), 0.7);  // through the field mapping
}

TEST_F(HistoricalTest, MultiKeyViewsSqlSourcesTransformationsAndServices) {
  ASSERT_OK_AND_ASSIGN(offline::Table t, Retrieve("driver_id,city,route_no,event_timestamp\n"
                                                  "1,paris,1,2026-01-01 11:00:00\n"
                                                  "1,paris,2,2026-01-01 09:30:00\n"
                                                  "1,paris,1,2026-01-01 09:30:00\n",
                                                  {"busy:load_pct"}, "svc", /*full_names=*/true));
  EXPECT_THAT(Names(t), ElementsAre("driver_id", "city", "route_no", "event_timestamp", "d__trips",
                                    "route_stats__load", "busy__load_pct"));
  const offline::Column& load = *t.Find("route_stats__load");
  EXPECT_FLOAT_EQ(static_cast<float>(load.Double(0)), 0.8f);
  EXPECT_FLOAT_EQ(static_cast<float>(load.Double(1)), 0.9f);
  EXPECT_FLOAT_EQ(static_cast<float>(load.Double(2)), 0.4f);
  const offline::Column& busy = *t.Find("busy__load_pct");
  EXPECT_NEAR(busy.Double(0), 80, 1e-4);
  EXPECT_NEAR(busy.Double(1), 90, 1e-4);
  EXPECT_FALSE(busy.IsValid(2));  // 0.4 is not busy, and nothing earlier was
}

TEST_F(HistoricalTest, OnDemandFeaturesAreComputedAfterTheJoin) {
  ASSERT_OK_AND_ASSIGN(offline::Table t,
                       Retrieve("driver_id,event_timestamp,bonus\n"
                                "1,2026-01-01 11:30:00,0.5\n"
                                "1,2026-01-01 10:30:00,1.5\n"
                                "3,2026-01-01 12:00:00,2\n",
                                {"derived:trips_plus", "derived:busy", "derived:label"}));
  EXPECT_THAT(Names(t), ElementsAre("driver_id", "event_timestamp", "bonus", "trips_plus", "busy",
                                    "label"));  // the sources they read stay hidden
  const offline::Column& plus = *t.Find("trips_plus");
  EXPECT_DOUBLE_EQ(plus.Double(0), 12.5);
  EXPECT_DOUBLE_EQ(plus.Double(1), 11.5);
  EXPECT_FALSE(plus.IsValid(2));  // no features for driver 3: null propagates
  const offline::Column& busy = *t.Find("busy");
  EXPECT_EQ(busy.Int(0), 1);  // 0.7 > 0.65
  EXPECT_EQ(busy.Int(1), 0);  // 0.5
  EXPECT_EQ(t.Find("label")->String(0), "high");
  EXPECT_EQ(t.Find("label")->String(1), "low");
  EXPECT_EQ(t.Find("label")->String(2), "low");  // if(null >= 12, ...) takes else

  StatusOr<offline::Table> missing =
      Retrieve("driver_id,event_timestamp\n1,2026-01-01 11:30:00\n", {"derived:trips_plus"});
  EXPECT_THAT(missing.status().message(),
              HasSubstr("no column 'bonus', a request field of on-demand feature view 'derived'"));
}

// Features are read inside DuckDB's parallel scan of the entity table (by
// row number); 400,000 rows span several of its row groups, so both threads
// take part, and the training set must still come out in the entity order,
// in memory and written to Parquet.
TEST_F(HistoricalTest, OrderHoldsAcrossManyChunks) {
  constexpr int kRows = 400'000;
  std::string csv = "driver_id,event_timestamp,n\n";
  for (int i = 0; i < kRows; ++i) {
    csv += std::to_string(1 + i % 3) + ",2026-01-01 1" + std::to_string(i % 2) + ":30:00," +
           std::to_string(i) + "\n";
  }
  auto check = [&](const offline::Table& t) {
    ASSERT_EQ(t.rows(), static_cast<size_t>(kRows));
    const offline::Column& n = *t.Find("n");
    const offline::Column& trips = *t.Find("trips");
    for (size_t i = 0; i < t.rows(); ++i) {
      ASSERT_EQ(n.Int(i), static_cast<int64_t>(i));
      int driver = 1 + static_cast<int>(i % 3);
      bool at_ten = i % 2 == 0;
      bool has = driver == 1;  // driver 2's row is over an hour old; 3 has none
      ASSERT_EQ(trips.IsValid(i), has) << i;
      if (has) {
        ASSERT_EQ(trips.Int(i), at_ten ? 10 : 12) << i;
      }
    }
  };
  ASSERT_OK_AND_ASSIGN(offline::Table t, Retrieve(csv, {"driver_stats:trips"}));
  check(t);

  ASSERT_OK_AND_ASSIGN(auto features, ResolveFeatures(repo_, {"driver_stats:trips"}, "", false));
  ASSERT_OK_AND_ASSIGN(HistoricalResult result,
                       GetHistoricalFeatures(*engine_, repo_, {.features = features}));
  std::string out = (root_ / "training.parquet").string();
  ASSERT_OK(WriteResult(*engine_, result.query, out));
  ASSERT_OK_AND_ASSIGN(offline::Table written,
                       engine_->Query("SELECT * FROM read_parquet('" + out + "')"));
  check(written);
}

// An entity column named rowid (which would hide DuckDB's row number) is
// kept as it is, and rows still get their own features.
TEST_F(HistoricalTest, AnEntityColumnNamedRowidIsKept) {
  ASSERT_OK_AND_ASSIGN(offline::Table t, Retrieve("rowid,driver_id,event_timestamp\n"
                                                  "7,2,2026-01-01 09:00:00\n"
                                                  "5,1,2026-01-01 10:30:00\n",
                                                  {"driver_stats:trips"}));
  EXPECT_THAT(Names(t), ElementsAre("rowid", "driver_id", "event_timestamp", "trips"));
  EXPECT_EQ(t.Find("rowid")->Int(0), 7);
  EXPECT_EQ(t.Find("trips")->Int(0), 3);
  EXPECT_EQ(t.Find("trips")->Int(1), 10);
}

// Entity rows sent as JSON columns (the HTTP API) join like a file's: in
// order across DuckDB's chunks, with each column's type taken from its values.
TEST_F(HistoricalTest, EntityRowsFromJsonColumnsKeepTheirOrderAndTypes) {
  constexpr int kRows = 300'000;
  Frame frame{.field = "entities"};
  std::vector<FrameValue> drivers, times, labels, flags, notes;
  for (int i = 0; i < kRows; ++i) {
    drivers.emplace_back(int64_t{1 + i % 3});
    times.emplace_back(i % 2 == 0 ? FrameValue{std::string("2026-01-01T10:30:00Z")}
                                  : FrameValue{int64_t{1767267000}});  // 11:30:00, Unix seconds
    labels.emplace_back(i % 4 == 0 ? FrameValue{0.5} : FrameValue{int64_t{i}});
    flags.emplace_back(i % 5 == 0 ? FrameValue{std::monostate{}} : FrameValue{i % 2 == 0});
    notes.emplace_back(std::monostate{});
  }
  frame.columns = {{"driver_id", drivers},
                   {"event_timestamp", times},
                   {"label", labels},
                   {"flag", flags},
                   {"note", notes}};
  ASSERT_OK(LoadEntityFrame(*engine_, frame, ""));
  ASSERT_OK_AND_ASSIGN(auto features, ResolveFeatures(repo_, {"driver_stats:trips"}, "", false));
  ASSERT_OK_AND_ASSIGN(HistoricalResult result,
                       GetHistoricalFeatures(*engine_, repo_, {.features = features}));
  ASSERT_OK_AND_ASSIGN(offline::Table t, engine_->Query(result.query));
  EXPECT_THAT(Names(t),
              ElementsAre("driver_id", "event_timestamp", "label", "flag", "note", "trips"));
  EXPECT_EQ(t.Find("event_timestamp")->type(), offline::ColumnType::kTimestamp);
  EXPECT_EQ(t.Find("label")->type(), offline::ColumnType::kDouble);  // integers among numbers
  EXPECT_EQ(t.Find("flag")->type(), offline::ColumnType::kBool);
  EXPECT_EQ(t.Find("note")->type(), offline::ColumnType::kString);  // nulls only
  ASSERT_EQ(t.rows(), static_cast<size_t>(kRows));
  const offline::Column& label = *t.Find("label");
  const offline::Column& trips = *t.Find("trips");
  for (size_t i = 0; i < t.rows(); ++i) {
    ASSERT_DOUBLE_EQ(label.Double(i), i % 4 == 0 ? 0.5 : static_cast<double>(i)) << i;
    ASSERT_EQ(t.Find("flag")->IsValid(i), i % 5 != 0) << i;
    bool has = i % 3 == 0;  // driver 1; driver 2's row is over an hour old; 3 has none
    ASSERT_EQ(trips.IsValid(i), has) << i;
    if (has) {
      ASSERT_EQ(trips.Int(i), i % 2 == 0 ? 10 : 12) << i;
    }
  }

  auto error = [&](Frame bad) {
    bad.field = "entities";
    Status loaded = LoadEntityFrame(*engine_, bad, "");
    EXPECT_FALSE(loaded.ok());
    return loaded.message();
  };
  EXPECT_THAT(error({.columns = {{"driver_id", {int64_t{1}, std::string("x")}},
                                 {"event_timestamp", {int64_t{0}, int64_t{0}}}}}),
              HasSubstr("entities.driver_id[1]: expected BIGINT like the column's earlier values"));
  EXPECT_THAT(
      error({.columns = {{"driver_id", {int64_t{1}}}, {"event_timestamp", {std::string("noon")}}}}),
      HasSubstr("entities.event_timestamp[0]"));
  EXPECT_THAT(error({.columns = {{"driver_id", {int64_t{1}}}, {"driver_id", {int64_t{2}}}}}),
              HasSubstr("column 'driver_id' is given twice"));
  EXPECT_THAT(error({.columns = {{"driver_id", {int64_t{1}, int64_t{2}}},
                                 {"event_timestamp", {int64_t{0}}}}}),
              HasSubstr("entities: every column must have the same length"));
  EXPECT_THAT(error({}), HasSubstr("entities: expected columns"));
}

TEST_F(HistoricalTest, ErrorsNameWhatIsWrong) {
  auto error = [&](const std::string& csv, const std::vector<std::string>& refs,
                   const std::string& service = "") {
    StatusOr<offline::Table> t = Retrieve(csv, refs, service);
    EXPECT_FALSE(t.ok()) << csv;
    return t.status().message();
  };
  EXPECT_THAT(error("driver,event_timestamp\n1,2026-01-01\n", {"driver_stats:trips"}),
              HasSubstr("entity table has no column 'driver_id', a join key of feature view "
                        "'driver_stats'"));
  EXPECT_THAT(error("driver_id,when\n1,x\n", {"driver_stats:trips"}),
              HasSubstr("entity table needs an event timestamp"));
  EXPECT_THAT(error("driver_id,event_timestamp\nabc,2026-01-01 10:00:00\n", {"driver_stats:trips"}),
              HasSubstr("cannot be read as declared"));
  EXPECT_THAT(error("driver_id,event_timestamp\n1,2026-01-01\n", {"driver_stats:nope"}),
              HasSubstr("feature view 'driver_stats' has no feature 'nope'"));
  EXPECT_THAT(error("driver_id,event_timestamp\n1,2026-01-01\n", {"ghost:x"}),
              HasSubstr("no feature view named 'ghost'"));
  EXPECT_THAT(error("driver_id,event_timestamp\n1,2026-01-01\n", {}, "nosvc"),
              HasSubstr("no feature service named 'nosvc'"));
  EXPECT_THAT(error("driver_id,event_timestamp,trips\n1,2026-01-01,4\n", {"driver_stats:trips"}),
              HasSubstr("entity table column 'trips' has the name of a requested feature"));
  EXPECT_THAT(error("driver_id,city,route_no,event_timestamp\n1,a,1,2026-01-01\n",
                    {"route_stats:load", "busy:load_pct", "route_stats:load"}),
              HasSubstr("'load' is requested twice"));

  fs::remove(root_ / "driver.csv");  // the source's view now reads a missing file
  EXPECT_THAT(error("driver_id,event_timestamp\n1,2026-01-01\n", {"driver_stats:trips"}),
              HasSubstr("feature view 'driver_stats'"));
}

}  // namespace
}  // namespace cairn::features
