// Offline pushes: rows appended to a push source are read back through its
// offline view beside the batch source's rows, under the batch source's
// column names (its field mapping applies to both); a push source without a
// batch source reads its pushed rows alone; a bad push writes nothing.
#include "features/offline_push.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include "features/pushed_files.h"

#include <filesystem>
#include <fstream>

#include "core/fault_injection_env.h"
#include "core/time_format.h"
#include "features/offline_source.h"
#include "features/repo_loader.h"
#include "status_testing.h"

namespace cairn::features {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class OfflinePushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("cairn_push_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    std::ofstream(root_ / "s.csv") << "id,ts,rate_raw\n1,2026-01-01 10:00:00,0.5\n";
    repo_.project = "p";
    repo_.root = root_.string();
    ASSERT_OK(ParseDefinitions(R"yaml(
entities: [{name: driver, join_keys: [driver_id]}]
sources:
  - {name: s, path: s.csv, timestamp_field: ts, field_mapping: {id: driver_id, rate_raw: rate}}
  - {name: live, type: push, batch_source: s}
  - {name: stream, type: push, timestamp_field: at}
feature_views:
  - {name: v, entities: [driver], source: live, schema: [{name: rate, type: Float64}]}
  - {name: w, entities: [driver], source: stream, schema: [{name: n, type: Int64}]}
)yaml",
                               "defs.yaml", &repo_));
    ASSERT_OK_AND_ASSIGN(engine_, offline::Engine::Open(2));
    pushed_ = (root_ / "pushed").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  StatusOr<size_t> Push(const std::string& source, Frame frame) {
    return AppendPushedRows(*engine_, repo_, *repo_.FindSource(source), frame, pushed_, &env_);
  }

  // The view's rows as "driver:value@time", ordered.
  std::vector<std::string> Rows(const std::string& view, const std::string& feature) {
    EXPECT_OK(RegisterSources(*engine_, repo_, pushed_));
    std::string ts = TimestampColumn(repo_, *repo_.FindFeatureView(view));
    std::string sql = "SELECT driver_id::VARCHAR || ':' || coalesce(" + feature +
                      "::VARCHAR, 'null') || '@' || epoch_us(" + offline::QuoteIdentifier(ts) +
                      ")::VARCHAR AS r FROM (" +
                      ViewRowsQuery(repo_, *repo_.FindFeatureView(view)) + ") ORDER BY 1";
    StatusOr<offline::Table> t = engine_->Query(sql);
    if (!t.ok()) ADD_FAILURE() << t.status().message() << " in " << sql;
    std::vector<std::string> rows;
    for (size_t i = 0; t.ok() && i < t->rows(); ++i) {
      rows.emplace_back(t->columns[0].String(i));
    }
    return rows;
  }

  static int64_t At(const char* text) { return *ParseTimestampMicros(text); }

  // Pushes value `n` for driver 1, always at the same event time, one push
  // a second; merges small files once `min_files` have gathered.
  void PushValue(int64_t n, size_t min_files) {
    env_.AdvanceMicros(1'000'000);
    ASSERT_OK(AppendPushedRows(*engine_, repo_, *repo_.FindSource("stream"),
                               {{{"driver_id", {int64_t{1}}},
                                 {"at", {std::string("2026-01-05 12:00:00")}},
                                 {"n", {n}}}},
                               pushed_, &env_, {.min_files = min_files})
                  .status());
  }

  // Every pushed value of view w in the order a reader sees them, read by a
  // fresh engine (an engine holds its snapshot's lock until it is closed).
  std::vector<int64_t> PushedValues() {
    auto engine = offline::Engine::Open(1);
    EXPECT_OK(engine.status());
    EXPECT_OK(RegisterSources(**engine, repo_, pushed_));
    StatusOr<offline::Table> t = (*engine)->Query(
        "SELECT n FROM (" + ViewRowsQuery(repo_, *repo_.FindFeatureView("w")) + ")");
    EXPECT_OK(t.status());
    std::vector<int64_t> values;
    for (size_t i = 0; t.ok() && i < t->rows(); ++i) values.push_back(t->columns[0].Int(i));
    return values;
  }

  std::vector<std::string> ParquetFiles() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(PushedRowsDir(pushed_, "p", "stream"))) {
      std::string name = e.path().filename().string();
      if (name.ends_with(".parquet") && name[0] != '.') names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path root_;
  FeatureRepo repo_;
  std::unique_ptr<offline::Engine> engine_;
  std::string pushed_;
  FakeEnv env_{At("2026-02-01T00:00:00Z")};
};

TEST_F(OfflinePushTest, PushedRowsJoinTheBatchSourceUnderItsMapping) {
  ASSERT_OK_AND_ASSIGN(size_t n,
                       Push("live", {{{"driver_id", {int64_t{2}, int64_t{3}}},
                                      {"ts", {std::string("2026-01-02T00:00:00Z"), int64_t{0}}},
                                      {"rate", {0.25, std::monostate{}}},
                                      {"note", {std::string("kept"), std::string("too")}}}}));
  EXPECT_EQ(n, 2u);
  EXPECT_THAT(
      Rows("v", "rate"),
      ::testing::ElementsAre("1:0.5@" + std::to_string(At("2026-01-01T10:00:00Z")),
                             "2:0.25@" + std::to_string(At("2026-01-02T00:00:00Z")), "3:null@0"));
  // A second push adds a file; both are read.
  ASSERT_OK(Push("live", {{{"driver_id", {int64_t{4}}},
                           {"ts", {std::string("2026-01-03")}},
                           {"rate", {int64_t{1}}}}})
                .status());
  EXPECT_EQ(Rows("v", "rate").size(), 4u);
}

TEST_F(OfflinePushTest, APushSourceWithoutABatchSourceReadsItsPushes) {
  ASSERT_OK(Push("stream", {{{"driver_id", {int64_t{9}}},
                             {"at", {std::string("2026-01-05 12:00:00")}},
                             {"n", {int64_t{7}}}}})
                .status());
  EXPECT_THAT(Rows("w", "n"),
              ::testing::ElementsAre("9:7@" + std::to_string(At("2026-01-05T12:00:00Z"))));
}

TEST_F(OfflinePushTest, ABadPushWritesNothing) {
  EXPECT_THAT(Push("live", {{{"driver_id", {int64_t{2}}}, {"rate", {0.1}}}}).status().message(),
              HasSubstr("missing column 'ts'"));
  EXPECT_THAT(Push("live", {{{"driver_id", {int64_t{2}}},
                             {"ts", {std::string("2026-01-02")}},
                             {"rate", {std::string("high")}}}})
                  .status()
                  .message(),
              HasSubstr("df.rate[0]: expected a number"));
  EXPECT_THAT(
      Push("live", {{{"driver_id", {int64_t{2}, int64_t{3}}}, {"ts", {std::string("2026-01-02")}}}})
          .status()
          .message(),
      HasSubstr("same length"));
  EXPECT_FALSE(fs::exists(PushedRowsDir(pushed_, "p", "live")) &&
               !fs::is_empty(PushedRowsDir(pushed_, "p", "live")));
  EXPECT_EQ(Rows("v", "rate").size(), 1u);  // the batch source's row alone
}

TEST_F(OfflinePushTest, SmallFilesAreMergedAndRowsKeepTheirOrder) {
  std::vector<int64_t> pushed;
  for (int64_t n = 1; n <= 10; ++n) {
    PushValue(n, 4);
    pushed.push_back(n);
    EXPECT_EQ(PushedValues(), pushed) << "after push " << n;
  }
  // Merges after pushes 4, 7 and 10 (each time the merged file plus three new ones).
  EXPECT_EQ(ParquetFiles().size(), 1u);
  // A later push of the same entity and times still wins the tie.
  PushValue(11, 100);
  pushed.push_back(11);
  EXPECT_EQ(PushedValues(), pushed);
}

TEST_F(OfflinePushTest, AReaderHoldsOffCompaction) {
  for (int64_t n = 1; n <= 3; ++n) PushValue(n, 100);
  StatusOr<PushedFiles> reading = SnapshotPushedFiles(PushedRowsDir(pushed_, "p", "stream"), &env_);
  ASSERT_OK(reading.status());
  EXPECT_EQ(reading->paths.size(), 3u);
  PushValue(4, 2);  // would merge, but a reader holds the files
  EXPECT_EQ(ParquetFiles().size(), 4u);
  for (const std::string& path : reading->paths) EXPECT_TRUE(fs::exists(path)) << path;
  reading = PushedFiles{};  // the reader is done
  PushValue(5, 2);
  EXPECT_EQ(ParquetFiles().size(), 1u);
  EXPECT_EQ(PushedValues(), (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

// A crash between publishing a merged file and removing its inputs: readers
// skip the inputs its note names, and the next compaction removes them. A
// note whose merged file was never published leaves its inputs live.
TEST_F(OfflinePushTest, ACrashDuringCompactionLosesAndRepeatsNothing) {
  for (int64_t n = 1; n <= 3; ++n) PushValue(n, 100);
  fs::path dir = PushedRowsDir(pushed_, "p", "stream");
  std::vector<std::string> files = ParquetFiles();
  ASSERT_EQ(files.size(), 3u);
  std::string stem = files[0].substr(0, files[0].size() - 8);
  // "Merged" the first file alone: the same rows under the merged name.
  fs::copy_file(dir / files[0], dir / (stem + "-c00000000.parquet"));
  std::ofstream(dir / ("." + stem + "-c00000000.parquet.replaces")) << files[0] << "\n";
  // And a note for a merge of the second file that was never published.
  std::ofstream(dir / ".unpublished-c1.parquet.replaces") << files[1] << "\n";
  EXPECT_EQ(PushedValues(), (std::vector<int64_t>{1, 2, 3}));

  auto merged = CompactPushedFiles(*engine_, dir.string(), &env_, {.min_files = 100});
  ASSERT_OK(merged.status());
  EXPECT_EQ(*merged, 0u);
  EXPECT_FALSE(fs::exists(dir / files[0]));
  EXPECT_TRUE(fs::exists(dir / files[1]));
  EXPECT_FALSE(fs::exists(dir / ("." + stem + "-c00000000.parquet.replaces")));
  EXPECT_FALSE(fs::exists(dir / ".unpublished-c1.parquet.replaces"));
  EXPECT_EQ(PushedValues(), (std::vector<int64_t>{1, 2, 3}));
}

// A push whose file cannot be made durable or published fails with the
// folder named, and leaves nothing a reader sees and no temporary file.
TEST_F(OfflinePushTest, AFailedPushLeavesNoRowsAndNoLitter) {
  PushValue(1, 100);
  FaultInjectionEnv faulty(&env_);
  std::string dir = PushedRowsDir(pushed_, "p", "stream");
  Frame frame{{{"driver_id", {int64_t{1}}},
               {"at", {std::string("2026-01-05 12:00:00")}},
               {"n", {int64_t{2}}}}};
  for (auto operation :
       {FaultInjectionEnv::Operation::kSync, FaultInjectionEnv::Operation::kRename}) {
    faulty.Fail(operation, dir + "/.", Unavailable("disk gone"));
    EXPECT_THAT(
        AppendPushedRows(*engine_, repo_, *repo_.FindSource("stream"), frame, pushed_, &faulty),
        testing::StatusIs(StatusCode::kUnavailable, HasSubstr(dir)));
    faulty.Heal();
    EXPECT_EQ(PushedValues(), (std::vector<int64_t>{1}));
    for (const auto& entry : fs::directory_iterator(dir)) {  // no temporary file left
      std::string name = entry.path().filename().string();
      EXPECT_TRUE(name == ".lock" || (name[0] != '.' && name.ends_with(".parquet"))) << name;
    }
    EXPECT_EQ(ParquetFiles().size(), 1u);
  }
}

// Compaction failing at every file step it takes, one at a time: each
// failure leaves every row exactly once in push order, and the next
// compaction (once healed) finishes the job.
TEST_F(OfflinePushTest, ACompactionFailingAtAnyStepLosesAndRepeatsNothing) {
  using Op = FaultInjectionEnv::Operation;
  std::string dir = PushedRowsDir(pushed_, "p", "stream");
  int failed_steps = 0;
  for (Op operation : {Op::kSync, Op::kWrite, Op::kRename, Op::kRemove, Op::kList, Op::kLock}) {
    for (int after = 0;; ++after) {
      fs::remove_all(dir);
      for (int64_t n = 1; n <= 3; ++n) PushValue(n, 100);
      FaultInjectionEnv faulty(&env_);
      faulty.Fail(operation, dir, Unavailable("injected"), after);
      StatusOr<size_t> merged = CompactPushedFiles(*engine_, dir, &faulty, {.min_files = 2});
      if (faulty.failures() == 0) {  // past this operation's last use
        ASSERT_THAT(merged, testing::IsOkAndHolds(3u));
        break;
      }
      ++failed_steps;
      SCOPED_TRACE("operation " + std::to_string(static_cast<int>(operation)) + " after " +
                   std::to_string(after));
      EXPECT_FALSE(merged.ok());
      EXPECT_EQ(PushedValues(), (std::vector<int64_t>{1, 2, 3}));
      faulty.Heal();
      PushValue(4, 2);  // the next push's compaction recovers and merges
      EXPECT_EQ(PushedValues(), (std::vector<int64_t>{1, 2, 3, 4}));
      EXPECT_EQ(ParquetFiles().size(), 1u);
    }
  }
  EXPECT_GE(failed_steps, 10);  // every step was reached
}

}  // namespace
}  // namespace cairn::features
