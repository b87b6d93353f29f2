// The feature registry on SQLite and (with CAIRN_TEST_POSTGRES_URI)
// PostgreSQL: plan shows what apply will do, apply versions the repo, every
// version stays readable, and a second process sees a new version at once.
#include "features/feature_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "features/repo_loader.h"
#include "status_testing.h"
#include "store/scratch_database.h"

namespace cairn::features {
namespace {

using ::testing::HasSubstr;

constexpr char kBase[] = R"yaml(
entities:
  - {name: driver, join_keys: [driver_id]}
sources:
  - {name: src, path: data/s.parquet, timestamp_field: ts}
feature_views:
  - name: stats
    entities: [driver]
    ttl: 1d
    source: src
    schema: [{name: conv_rate, type: Float32}]
)yaml";

FeatureRepo Repo(const std::string& yaml) {
  FeatureRepo repo;
  repo.project = "rides";
  repo.root = "/repo";
  Status parsed = ParseDefinitions(yaml, "defs.yaml", &repo);
  EXPECT_OK(parsed);
  EXPECT_OK(ValidateRepo(repo));
  return repo;
}

class FeatureRegistryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_OK(database_.Create(GetParam()));
    if (database_.skipped()) GTEST_SKIP() << database_.skip_reason();
    ASSERT_OK_AND_ASSIGN(store_, database_.Open());
    registry_ = std::make_unique<FeatureRegistry>(store_.get(), &env_);
    ASSERT_OK(registry_->Init());
  }

  FakeEnv env_;
  store::ScratchDatabase database_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<FeatureRegistry> registry_;
};

TEST_P(FeatureRegistryTest, PlanApplyAndVersions) {
  ASSERT_OK_AND_ASSIGN(Plan first, registry_->PlanApply(Repo(kBase)));
  EXPECT_EQ(first.changes.size(), 3u);
  EXPECT_EQ(RenderPlan(first),
            "+ entity driver\n+ source src\n+ feature_view stats\n"
            "Plan: 3 to add, 0 to change, 0 to remove (project 'rides', version 0 -> 1).\n");
  int64_t version = 0;
  ASSERT_OK(registry_->Apply(Repo(kBase), "alice", &version).status());
  EXPECT_EQ(version, 1);

  // Unchanged: no new version.
  ASSERT_OK_AND_ASSIGN(Plan none, registry_->Apply(Repo(kBase), "alice", &version));
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(version, 1);

  // Change the ttl, drop nothing, add a service.
  std::string next = kBase;
  next.replace(next.find("ttl: 1d"), 7, "ttl: 2h");
  next += "feature_services:\n  - {name: svc, features: [stats]}\n";
  ASSERT_OK_AND_ASSIGN(Plan changed, registry_->PlanApply(Repo(next)));
  EXPECT_EQ(RenderPlan(changed),
            "~ feature_view stats\n    ttl: 1d -> 2h\n+ feature_service svc\n"
            "Plan: 1 to add, 1 to change, 0 to remove (project 'rides', version 1 -> 2).\n");
  env_.AdvanceMicros(1000);
  ASSERT_OK(registry_->Apply(Repo(next), "bob", &version).status());
  EXPECT_EQ(version, 2);

  // Removing the service.
  ASSERT_OK_AND_ASSIGN(Plan removed, registry_->PlanApply(Repo(kBase)));
  EXPECT_THAT(RenderPlan(removed), HasSubstr("- feature_service svc\n"));

  // Both versions stay readable; the newest is the default.
  ASSERT_OK_AND_ASSIGN(FeatureRepo v1, registry_->Load("rides", 1));
  EXPECT_EQ(v1.FindFeatureView("stats")->ttl_seconds, 86400);
  EXPECT_EQ(v1.root, "/repo");
  ASSERT_OK_AND_ASSIGN(FeatureRepo newest, registry_->Load("rides"));
  EXPECT_EQ(newest.FindFeatureView("stats")->ttl_seconds, 7200);
  EXPECT_NE(newest.FindFeatureService("svc"), nullptr);

  ASSERT_OK_AND_ASSIGN(auto history, registry_->History("rides"));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].version, 2);
  EXPECT_EQ(history[0].applied_by, "bob");
  EXPECT_EQ(history[0].summary, "1 to add, 1 to change, 0 to remove");
  ASSERT_OK_AND_ASSIGN(auto projects, registry_->Projects());
  EXPECT_EQ(projects, std::vector<std::string>{"rides"});
}

// Relative source paths resolve against the repo folder: applying the same
// definitions from a moved folder is a change, so servers read the new place.
TEST_P(FeatureRegistryTest, AMovedRepoFolderIsAChange) {
  int64_t version = 0;
  ASSERT_OK(registry_->Apply(Repo(kBase), "alice", &version).status());
  FeatureRepo moved = Repo(kBase);
  moved.root = "/elsewhere";
  ASSERT_OK_AND_ASSIGN(Plan plan, registry_->PlanApply(moved));
  EXPECT_EQ(RenderPlan(plan),
            "~ repo folder\n    root: /repo -> /elsewhere\n"
            "Plan: 0 to add, 1 to change, 0 to remove (project 'rides', version 1 -> 2).\n");
  ASSERT_OK(registry_->Apply(moved, "alice", &version).status());
  EXPECT_EQ(version, 2);
  ASSERT_OK_AND_ASSIGN(FeatureRepo newest, registry_->Load("rides"));
  EXPECT_EQ(newest.root, "/elsewhere");
  ASSERT_OK_AND_ASSIGN(Plan none, registry_->PlanApply(moved));
  EXPECT_TRUE(none.empty());
}

TEST_P(FeatureRegistryTest, AnotherProcessSeesANewVersionAtOnce) {
  ASSERT_OK_AND_ASSIGN(auto other_store, database_.Open());
  FeatureRegistry other(other_store.get(), &env_);
  ASSERT_OK_AND_ASSIGN(int64_t before, other.CurrentVersion("rides"));
  EXPECT_EQ(before, 0);
  int64_t version = 0;
  ASSERT_OK(registry_->Apply(Repo(kBase), "alice", &version).status());
  ASSERT_OK_AND_ASSIGN(int64_t after, other.CurrentVersion("rides"));
  EXPECT_EQ(after, 1);
  ASSERT_OK_AND_ASSIGN(FeatureRepo repo, other.Load("rides"));
  EXPECT_NE(repo.FindFeatureView("stats"), nullptr);
}

TEST_P(FeatureRegistryTest, UnknownProjectOrVersionIsNotFound) {
  StatusOr<FeatureRepo> missing = registry_->Load("nobody");
  EXPECT_THAT(missing, ::cairn::testing::StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(missing.status().message(), HasSubstr("cairn features apply"));
  int64_t version = 0;
  ASSERT_OK(registry_->Apply(Repo(kBase), "alice", &version).status());
  EXPECT_THAT(registry_->Load("rides", 7), ::cairn::testing::StatusIs(StatusCode::kNotFound));
}

INSTANTIATE_TEST_SUITE_P(Backends, FeatureRegistryTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace cairn::features
