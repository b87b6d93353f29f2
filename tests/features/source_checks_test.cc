// Checking a feature repo against its data at plan/apply time: each problem
// names the YAML file and line, what the data has, and the fix.
#include "features/source_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "features/repo_loader.h"
#include "status_testing.h"

namespace cairn::features {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SourceChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("cairn_checks_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "data");
    std::ofstream(root_ / "data" / "flights.csv")
        << "origin,dep_time,delay,carrier\nANC,2026-01-01 10:00:00,3.5,AS\n";
    ASSERT_OK_AND_ASSIGN(engine_, offline::Engine::Open(1));
  }
  void TearDown() override { fs::remove_all(root_); }

  std::vector<std::string> Problems(const std::string& yaml) {
    FeatureRepo repo;
    repo.project = "p";
    repo.root = root_.string();
    EXPECT_OK(ParseDefinitions(yaml, "defs.yaml", &repo));
    StatusOr<std::vector<std::string>> problems = CheckSources(*engine_, repo);
    EXPECT_OK(problems.status());
    return problems.ok() ? *problems : std::vector<std::string>{};
  }

  fs::path root_;
  std::unique_ptr<offline::Engine> engine_;
};

TEST_F(SourceChecksTest, ARepoThatMatchesItsDataHasNoProblems) {
  EXPECT_THAT(Problems(R"yaml(
entities: [{name: airport, join_keys: [{name: origin, type: String}]}]
sources: [{name: flights, path: data/flights.csv, timestamp_field: dep_time}]
feature_views:
  - {name: delays, entities: [airport], source: flights,
     schema: [{name: delay, type: Float64}, {name: carrier, type: String}]}
)yaml"),
              ElementsAre());
}

TEST_F(SourceChecksTest, ATypoInAPathNamesTheLineAndWhereItLooked) {
  EXPECT_THAT(Problems(R"yaml(
sources: [{name: flights, path: data/flight.csv, timestamp_field: dep_time}]
)yaml"),
              ElementsAre(AllOf(HasSubstr("defs.yaml:2"), HasSubstr("data/flight.csv"),
                                HasSubstr("matches no file"), HasSubstr(root_.string()))));
}

// The issue's example: the default Int64 on a String key, and a feature and
// timestamp the file does not have.
TEST_F(SourceChecksTest, MissingColumnsAndWrongTypesNameTheFix) {
  std::vector<std::string> problems = Problems(R"yaml(
entities:
  - {name: airport, join_keys: [origin]}
sources:
  - {name: flights, path: data/flights.csv, timestamp_field: departure}
feature_views:
  - name: delays
    entities: [airport]
    source: flights
    schema: [{name: delay, type: Int64}, {name: gate, type: String}]
)yaml");
  EXPECT_THAT(problems,
              ElementsAre(AllOf(HasSubstr("defs.yaml:5"), HasSubstr("'departure'"),
                                HasSubstr("timestamp_field"), HasSubstr("dep_time")),
                          AllOf(HasSubstr("defs.yaml:3"), HasSubstr("join key 'origin'"),
                                HasSubstr("Int64"), HasSubstr("VARCHAR"),
                                HasSubstr("set value_type: String")),
                          AllOf(HasSubstr("feature 'delay' is declared Int64"), HasSubstr("DOUBLE"),
                                HasSubstr("declare it Float64")),
                          AllOf(HasSubstr("column 'gate'"), HasSubstr("not in source 'flights'"))));
}

TEST_F(SourceChecksTest, AsOneErrorItSaysHowToSkip) {
  FeatureRepo repo;
  repo.project = "p";
  repo.root = root_.string();
  ASSERT_OK(ParseDefinitions("sources: [{name: s, path: nope.parquet, timestamp_field: t}]",
                             "defs.yaml", &repo));
  EXPECT_THAT(
      RequireSourcesMatch(*engine_, repo),
      testing::StatusIs(StatusCode::kInvalidArgument,
                        AllOf(HasSubstr("nope.parquet"), HasSubstr("--skip-source-checks"))));
}

}  // namespace
}  // namespace cairn::features
