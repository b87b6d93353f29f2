// Loading feature repos from YAML: every kind of definition, the errors a
// user sees (file, line, field), and the canonical form the registry keeps.
#include "features/repo_loader.h"

#include "core/fault_injection_env.h"
#include "core/mem_env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "status_testing.h"

namespace cairn::features {
namespace {

using ::testing::HasSubstr;

constexpr char kDefinitions[] = R"yaml(
entities:
  - name: driver
    join_keys: [driver_id]
    description: A driver
    tags: {team: rides}
  - name: trip
    join_keys:
      - {name: city, type: String}
      - {name: trip_no, type: Int32}
sources:
  - name: stats_src
    path: data/stats.parquet
    timestamp_field: ts
    created_timestamp_field: created
    field_mapping: {conv: conv_rate}
  - name: stats_csv
    path: data/stats.csv
    timestamp_field: ts
  - name: filtered
    query: SELECT * FROM stats_src WHERE conv_rate > 0
    timestamp_field: ts
  - name: live
    type: push
    batch_source: stats_src
feature_views:
  - name: driver_stats
    entities: [driver]
    ttl: 1d
    source: stats_src
    schema:
      - {name: conv_rate, type: Float32}
      - trips: Int64
    tags: {tier: gold}
  - name: trip_stats
    entities: trip
    source: stats_csv
    online: false
    schema: [{name: fare, dtype: Float64}]
on_demand_feature_views:
  - name: adjusted
    sources: [driver_stats]
    request_schema: [{name: bonus, type: Float64}]
    features:
      - {name: conv_plus, type: Float64, expression: conv_rate + bonus}
feature_services:
  - name: svc
    features:
      - driver_stats:conv_rate
      - {view: trip_stats, alias: t}
)yaml";

StatusOr<FeatureRepo> Parse(const std::string& yaml) {
  FeatureRepo repo;
  repo.project = "p";
  RETURN_IF_ERROR(ParseDefinitions(yaml, "defs.yaml", &repo));
  RETURN_IF_ERROR(ValidateRepo(repo));
  return repo;
}

TEST(RepoLoaderTest, ParsesEveryKind) {
  ASSERT_OK_AND_ASSIGN(FeatureRepo repo, Parse(kDefinitions));
  ASSERT_EQ(repo.entities.size(), 2u);
  EXPECT_EQ(repo.entities[0].join_keys[0].name, "driver_id");
  EXPECT_EQ(repo.entities[0].join_keys[0].type, ValueType::kInt64);
  EXPECT_EQ(repo.entities[1].join_keys[1].type, ValueType::kInt32);
  EXPECT_EQ(repo.FindSource("stats_csv")->format, "csv");
  EXPECT_EQ(repo.FindSource("filtered")->kind, SourceKind::kSql);
  EXPECT_EQ(repo.FindSource("live")->kind, SourceKind::kPush);
  EXPECT_EQ(repo.FindSource("stats_src")->field_mapping.at("conv"), "conv_rate");
  const FeatureView* view = repo.FindFeatureView("driver_stats");
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(view->ttl_seconds, 86400);
  EXPECT_EQ(view->schema[1].name, "trips");
  EXPECT_EQ(view->origin, "defs.yaml:27");
  EXPECT_FALSE(repo.FindFeatureView("trip_stats")->online);
  EXPECT_EQ(repo.on_demand_feature_views[0].features[0].expression, "conv_rate + bonus");
  EXPECT_EQ(repo.feature_services[0].features[0].features, std::vector<std::string>{"conv_rate"});
  EXPECT_EQ(repo.feature_services[0].features[1].alias, "t");
}

TEST(RepoLoaderTest, CanonicalFormRoundTrips) {
  ASSERT_OK_AND_ASSIGN(FeatureRepo repo, Parse(kDefinitions));
  std::vector<DefinitionSpec> specs = CanonicalSpecs(repo);
  FeatureRepo again;
  for (const DefinitionSpec& spec : specs) ASSERT_OK(ParseSpec(spec, "registry", &again));
  std::vector<DefinitionSpec> specs_again = CanonicalSpecs(again);
  ASSERT_EQ(specs.size(), specs_again.size());
  for (size_t i = 0; i < specs.size(); ++i) EXPECT_EQ(specs[i].yaml, specs_again[i].yaml);
}

TEST(RepoLoaderTest, ErrorsNameFileLineAndField) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"feature_views:\n  - name: v\n    ttl: 1 day\n    schema: [f: Int64]\n",
       "defs.yaml:3: feature_views[0].ttl:"},
      {"entities:\n  - name: e\n    joinkeys: [a]\n",
       "defs.yaml:3: entities[0].joinkeys: unknown field"},
      {"feature_views:\n  - name: v\n    source: s\n    schema: [{name: f, type: Decimal}]\n",
       "feature_views[0].schema[0].type: unknown value type 'Decimal'"},
      {"sources:\n  - name: s\n    path: x.parquet\n", "sources[0].timestamp_field: required"},
      {"sources:\n  - name: s\n    path: x.json\n    format: json\n    timestamp_field: t\n",
       "sources[0].format: unknown format 'json'"},
      {"features:\n  - x\n", "defs.yaml:1: features: unknown section"},
      {"entities: [\n", "defs.yaml:2: not valid YAML"},
      {"feature_views:\n  - name: v\n    source: nope\n    schema: [{name: f, type: Int64}]\n",
       "defs.yaml:2: feature view 'v'.source: no source named 'nope'"},
      {"entities:\n  - name: e\n  - name: e\n", "defs.yaml:3: entity 'e' is defined twice"},
      {"sources:\n  - name: s\n    path: x.csv\n    timestamp_field: t\nfeature_views:\n  - name: "
       "v\n"
       "    source: s\n    entities: [e]\n    schema: [{name: f, type: Int64}]\n",
       "feature view 'v'.entities: no entity named 'e'"},
      {"entities:\n  - name: e\nsources:\n  - name: s\n    path: x.csv\n    timestamp_field: t\n"
       "feature_views:\n  - name: v\n    source: s\n    entities: [e]\n"
       "    schema: [{name: e, type: Int64}]\n",
       "feature view 'v'.schema: 'e' is declared twice or is also a join key"},
      {"feature_services:\n  - name: svc\n    features: [ghost]\n",
       "feature service 'svc'.features: no feature view named 'ghost'"},
      {"feature_views:\n  - name: 'bad name'\n", "feature_views[0].name: 'bad name' may hold only"},
      {"? [a]\n: b\n", "defs.yaml"},
      {"entities:\n  - name: cell\n    join_keys: [{name: id, type: Float64}]\n",
       "defs.yaml:2: entities[0].join_keys[0]: a join key must be Int64, Int32, String or Bytes"},
      {"entities:\n  - {name: e, join_key: a, join_keys: [b]}\n", "give join_keys or join_key"},
      {"sources:\n  - {name: s, path: x.csv, timestamp_field: t}\nfeature_views:\n"
       "  - {name: v, source: s, schema: [{name: f, type: Int64}]}\n"
       "on_demand_feature_views:\n  - name: o\n    sources: [v]\n"
       "    features: [{name: x, type: Float64, expression: 'g * 2'}]\n",
       "defs.yaml:6: on-demand feature view 'o', feature 'x': unknown name 'g'"},
      {"sources:\n  - {name: s, path: x.csv, timestamp_field: t}\nfeature_views:\n"
       "  - {name: v, source: s, schema: [{name: f, type: Int64}]}\n"
       "on_demand_feature_views:\n  - name: o\n    sources: [v]\n"
       "    features: [{name: x, type: Float64, expression: 'f *'}]\n",
       "feature 'x': expression 'f *', at character 4: expected a value"},
  };
  for (const Case& c : cases) {
    StatusOr<FeatureRepo> repo = Parse(c.yaml);
    ASSERT_FALSE(repo.ok()) << c.yaml;
    EXPECT_THAT(repo, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument)) << c.yaml;
    EXPECT_THAT(repo.status().message(), HasSubstr(c.expected)) << c.yaml;
  }
}

TEST(RepoLoaderTest, LoadsAFolderAndNamesFilesInErrors) {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("cairn_repo_" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "defs");
  fs::create_directories(root / ".hidden");
  std::ofstream(root / kRepoConfigFile) << "project: rides\n";
  std::ofstream(root / "defs" / "all.yaml") << kDefinitions;
  std::ofstream(root / ".hidden" / "ignored.yaml") << "nonsense: [";
  ASSERT_OK_AND_ASSIGN(FeatureRepo repo, LoadRepo(Env::Default(), root.string()));
  EXPECT_EQ(repo.project, "rides");
  EXPECT_EQ(repo.feature_views.size(), 2u);
  EXPECT_EQ(repo.FindFeatureView("driver_stats")->origin, "defs/all.yaml:27");

  std::ofstream(root / "defs" / "more.yaml") << "entities:\n  - name: driver\n";
  StatusOr<FeatureRepo> twice = LoadRepo(Env::Default(), root.string());
  EXPECT_THAT(twice.status().message(),
              HasSubstr("defs/more.yaml:2: entity 'driver' is defined twice"));

  EXPECT_THAT(LoadRepo(Env::Default(), (root / "defs").string()),
              ::cairn::testing::StatusIs(StatusCode::kNotFound));
  fs::remove_all(root);
}

// The loader reads through its Env: a repo in memory, and a failed read
// that names the file.
TEST(RepoLoaderTest, ReadsThroughItsEnv) {
  FakeEnv clock;
  MemEnv files(&clock);
  FaultInjectionEnv faulty(&files);
  Env& env = faulty;
  ASSERT_OK(env.CreateDirectories("/repo/defs/.drafts"));
  ASSERT_OK(env.WriteFileAtomically("/repo/cairn_features.yaml", "project: rides\n"));
  ASSERT_OK(env.WriteFileAtomically("/repo/defs/all.yaml", kDefinitions));
  ASSERT_OK(env.WriteFileAtomically("/repo/defs/.drafts/x.yaml", "nonsense: ["));
  ASSERT_OK(env.WriteFileAtomically("/repo/defs/notes.txt", "not a definition"));
  ASSERT_OK_AND_ASSIGN(FeatureRepo repo, LoadRepo(&env, "/repo"));
  EXPECT_EQ(repo.project, "rides");
  EXPECT_EQ(repo.feature_views.size(), 2u);
  EXPECT_EQ(repo.FindFeatureView("driver_stats")->origin, "defs/all.yaml:27");
  faulty.Fail(FaultInjectionEnv::Operation::kRead, "/repo/defs/all.yaml",
              Unavailable("Input/output error"));
  EXPECT_THAT(
      LoadRepo(&env, "/repo"),
      ::cairn::testing::StatusIs(StatusCode::kInvalidArgument, HasSubstr("/repo/defs/all.yaml")));
  EXPECT_THAT(LoadRepo(&env, "/elsewhere"), ::cairn::testing::StatusIs(StatusCode::kNotFound));
}

TEST(RepoLoaderTest, Durations) {
  EXPECT_EQ(*ParseDurationSeconds("0"), 0);
  EXPECT_EQ(*ParseDurationSeconds("3600"), 3600);
  EXPECT_EQ(*ParseDurationSeconds("90m"), 5400);
  EXPECT_EQ(*ParseDurationSeconds("2w"), 14 * 86400);
  EXPECT_FALSE(ParseDurationSeconds("-1s").ok());
  EXPECT_FALSE(ParseDurationSeconds("d").ok());
  EXPECT_FALSE(ParseDurationSeconds("99999999999999999999").ok());
  EXPECT_EQ(FormatDuration(5400), "90m");
  EXPECT_EQ(FormatDuration(86400), "1d");
  EXPECT_EQ(FormatDuration(61), "61s");
}

}  // namespace
}  // namespace cairn::features
