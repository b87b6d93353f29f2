// The model registry's contract, on SQLite and (with CAIRN_TEST_POSTGRES_URI)
// PostgreSQL: numbering, stages, aliases, search with MLflow's grammar and
// MLflow 3's prompt exclusion, source resolution, and bad input that must
// change nothing.
#include "registry/registry_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/strings.h"
#include "status_testing.h"
#include "store/scratch_database.h"
#include "tracking/logged_model_service.h"
#include "tracking/tracking_service.h"

namespace cairn::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RegistryServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_OK(database_.Create(GetParam()));
    if (database_.skipped()) GTEST_SKIP() << database_.skip_reason();
    ASSERT_OK_AND_ASSIGN(store_, database_.Open());
    tracking_ = std::make_unique<tracking::TrackingService>(store_.get(), &env_);
    ASSERT_OK(tracking_->Init());
    registry_ = std::make_unique<RegistryService>(store_.get(), &env_);
    ASSERT_OK(registry_->Init());
  }

  // Registers `name` with versions from the given sources.
  void Register(const std::string& name, int versions) {
    ASSERT_OK(registry_->CreateRegisteredModel(name, std::nullopt, {}).status());
    for (int i = 0; i < versions; ++i) {
      env_.AdvanceMicros(1000);
      CreateModelVersionRequest req;
      req.name = name;
      req.source = "s3://bucket/" + name + "/" + std::to_string(i + 1);
      ASSERT_OK(registry_->CreateModelVersion(req).status());
    }
  }

  std::vector<std::string> ModelNames(const SearchRequest& request) {
    std::vector<std::string> names;
    auto page = registry_->SearchRegisteredModels(request);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (page.ok()) {
      for (const auto& m : page->models) names.push_back(m.name);
    }
    return names;
  }

  std::vector<std::string> VersionIds(const SearchRequest& request) {
    std::vector<std::string> ids;
    auto page = registry_->SearchModelVersions(request);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (page.ok()) {
      for (const auto& v : page->versions) ids.push_back(v.name + "/" + std::to_string(v.version));
    }
    return ids;
  }

  FakeEnv env_;
  store::ScratchDatabase database_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<tracking::TrackingService> tracking_;
  std::unique_ptr<RegistryService> registry_;
};

TEST_P(RegistryServiceTest, DuplicateNameIsAlreadyExistsWithMlflowsMessage) {
  ASSERT_OK(registry_->CreateRegisteredModel("churn", "first", {{"team", "ml"}}).status());
  auto again = registry_->CreateRegisteredModel("churn", std::nullopt, {});
  EXPECT_EQ(again.status(), AlreadyExists("Registered Model (name=churn) already exists."));
  auto kept = registry_->GetRegisteredModel("churn");
  ASSERT_OK(kept.status());
  EXPECT_EQ(kept->description, "first");
  EXPECT_THAT(kept->tags, ElementsAre(KeyValue{"team", "ml"}));
}

TEST_P(RegistryServiceTest, VersionNumbersAreNeverReusedUntilTheModelIsDeleted) {
  Register("m", 3);
  ASSERT_OK(registry_->DeleteModelVersion("m", "3"));
  CreateModelVersionRequest req{.name = "m", .source = "s3://b/next"};
  auto v4 = registry_->CreateModelVersion(req);
  ASSERT_OK(v4.status());
  EXPECT_EQ(v4->version, 4);
  EXPECT_EQ(v4->status, "READY");
  EXPECT_EQ(registry_->GetModelVersion("m", "3").status(),
            NotFound("Model Version (name=m, version=3) not found"));
  ASSERT_OK(registry_->DeleteRegisteredModel("m"));
  EXPECT_EQ(registry_->GetRegisteredModel("m").status(),
            NotFound("Registered Model with name=m not found"));
  Register("m", 1);
  EXPECT_EQ(registry_->GetModelVersion("m", "1")->source, "s3://bucket/m/1");
}

TEST_P(RegistryServiceTest, VersionsParseLikePythonInt) {
  Register("m", 2);
  EXPECT_EQ(registry_->GetModelVersion("m", " 02 ")->version, 2);
  EXPECT_EQ(registry_->GetModelVersion("m", "1.0").status(),
            InvalidArgument("Model version must be an integer, got '1.0'"));
}

TEST_P(RegistryServiceTest, AliasesMoveAndDieWithTheirVersion) {
  Register("m", 3);
  ASSERT_OK(registry_->SetAlias("m", "champion", "1"));
  ASSERT_OK(registry_->SetAlias("m", "champion", "2"));  // Moves.
  ASSERT_OK(registry_->SetAlias("m", "challenger", "3"));
  auto champion = registry_->GetVersionByAlias("m", "champion");
  ASSERT_OK(champion.status());
  EXPECT_EQ(champion->version, 2);
  EXPECT_THAT(champion->aliases, ElementsAre("champion"));
  auto model = registry_->GetRegisteredModel("m");
  ASSERT_EQ(model->aliases.size(), 2u);
  EXPECT_EQ(model->aliases[0].alias, "challenger");
  EXPECT_EQ(model->aliases[1].version, 2);

  // MLflow leaves a deleted version's aliases dangling; Cairn drops them.
  ASSERT_OK(registry_->DeleteModelVersion("m", "2"));
  EXPECT_EQ(registry_->GetVersionByAlias("m", "champion").status(),
            NotFound("Registered model alias champion not found."));
  EXPECT_EQ(registry_->GetRegisteredModel("m")->aliases.size(), 1u);

  // "latest" is the newest live version.
  EXPECT_EQ(registry_->GetVersionByAlias("m", "latest")->version, 3);
  ASSERT_OK(registry_->DeleteAlias("m", "nope"));  // Not an error, as MLflow.
}

TEST_P(RegistryServiceTest, ReservedAndMalformedAliasesAreRefused) {
  Register("m", 1);
  EXPECT_EQ(registry_->SetAlias("m", "Latest", "1"),
            InvalidArgument("'latest' alias name (case insensitive) is reserved."));
  EXPECT_EQ(registry_->SetAlias("m", "v12", "1"),
            InvalidArgument("Version alias name 'v12' is reserved."));
  EXPECT_THAT(registry_->SetAlias("m", "bad alias", "1").message(),
              HasSubstr("Invalid alias name: 'bad alias'"));
  EXPECT_EQ(registry_->SetAlias("m", "prod", "7"),
            NotFound("Model Version (name=m, version=7) not found"));
  EXPECT_TRUE(registry_->GetRegisteredModel("m")->aliases.empty());
}

TEST_P(RegistryServiceTest, TransitionArchivesTheOthersInOneCommit) {
  Register("m", 3);
  ASSERT_OK(registry_->TransitionStage("m", "1", "production", false).status());
  ASSERT_OK(registry_->TransitionStage("m", "2", "Production", false).status());
  auto moved = registry_->TransitionStage("m", "3", "PRODUCTION", true);
  ASSERT_OK(moved.status());
  EXPECT_EQ(moved->stage, Stage::kProduction);
  EXPECT_EQ(registry_->GetModelVersion("m", "1")->stage, Stage::kArchived);
  EXPECT_EQ(registry_->GetModelVersion("m", "2")->stage, Stage::kArchived);

  auto latest = registry_->GetLatestVersions("m", {});
  ASSERT_OK(latest.status());
  ASSERT_EQ(latest->size(), 2u);  // Archived: 2, Production: 3.
  EXPECT_EQ((*latest)[0].version, 2);
  EXPECT_EQ((*latest)[1].version, 3);
  auto production = registry_->GetLatestVersions("m", {"production"});
  ASSERT_EQ(production->size(), 1u);
  EXPECT_EQ(production->front().version, 3);

  EXPECT_THAT(registry_->TransitionStage("m", "1", "Archived", true),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(
      registry_->TransitionStage("m", "1", "Live", false).status(),
      InvalidArgument("Invalid Model Version stage: Live. Value must be one of None, Staging, "
                      "Production, Archived."));
}

TEST_P(RegistryServiceTest, RenameCarriesVersionsAndAliases) {
  Register("old", 2);
  ASSERT_OK(registry_->SetAlias("old", "champion", "2"));
  Register("taken", 0);
  EXPECT_EQ(registry_->RenameRegisteredModel("old", "taken").status(),
            AlreadyExists("Registered Model (name=taken) already exists."));
  auto renamed = registry_->RenameRegisteredModel("old", "new");
  ASSERT_OK(renamed.status());
  EXPECT_EQ(renamed->latest_versions.size(), 1u);
  EXPECT_EQ(registry_->GetVersionByAlias("new", "champion")->name, "new");
  EXPECT_THAT(registry_->GetRegisteredModel("old"),
              ::cairn::testing::StatusIs(StatusCode::kNotFound));
}

TEST_P(RegistryServiceTest, BadNamesAndSourcesChangeNothing) {
  EXPECT_THAT(registry_->CreateRegisteredModel("a/b", std::nullopt, {}).status().message(),
              HasSubstr("must not contain '/'"));
  EXPECT_THAT(
      registry_->CreateRegisteredModel(std::string(300, 'x'), std::nullopt, {}).status().message(),
      HasSubstr("the limit is 256"));
  EXPECT_THAT(registry_->CreateRegisteredModel("bad\ntag", std::nullopt, {}),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  ASSERT_OK(registry_->CreateRegisteredModel("modèle-é", std::nullopt, {}).status());
  // A SQL-looking name is just a name.
  ASSERT_OK(registry_->CreateRegisteredModel("x'; DROP TABLE model_versions; --", std::nullopt, {})
                .status());
  EXPECT_EQ(registry_->GetRegisteredModel("x'; DROP TABLE model_versions; --")->name,
            "x'; DROP TABLE model_versions; --");

  for (std::string source : {"/etc/passwd", "file:///etc/passwd", "relative/model", "s3://b/a/../c",
                             "s3://b/%2e%2e/c", "s3://b/%252E%252E/c", "mlflow-artifacts:/0/./x"}) {
    CreateModelVersionRequest req{.name = "modèle-é", .source = source};
    EXPECT_THAT(registry_->CreateModelVersion(req),
                ::cairn::testing::StatusIs(StatusCode::kInvalidArgument))
        << source;
  }
  CreateModelVersionRequest bad_tag{
      .name = "modèle-é", .source = "s3://b/m", .tags = {{"ok", "1"}, {"../escape", "2"}}};
  EXPECT_THAT(registry_->CreateModelVersion(bad_tag).status().message(), HasSubstr("../escape"));
  CreateModelVersionRequest unknown_model{.name = "modèle-é", .source = "models:/m-00000000"};
  EXPECT_EQ(registry_->CreateModelVersion(unknown_model).status(),
            NotFound("Logged model with ID 'm-00000000' not found."));
  CreateModelVersionRequest unknown_registered{.name = "nope", .source = "s3://b/m"};
  EXPECT_EQ(registry_->CreateModelVersion(unknown_registered).status(),
            NotFound("Registered Model with name=nope not found"));
  EXPECT_TRUE(registry_->GetRegisteredModel("modèle-é")->latest_versions.empty());
}

TEST_P(RegistryServiceTest, ModelUriSourcesResolveToTheFilesTheyName) {
  auto experiment = tracking_->CreateExperiment("exp", "", {});
  ASSERT_OK(experiment.status());
  tracking::CreateRunRequest run_req;
  run_req.experiment_id = *experiment;
  auto run = tracking_->CreateRun(run_req);
  ASSERT_OK(run.status());
  const std::string run_id = run->info.run_id;
  tracking::LoggedModelService logged(store_.get(), &env_);
  auto model =
      logged.Create({.experiment_id = *experiment, .name = "clf", .source_run_id = run_id});
  ASSERT_OK(model.status());
  Register("churn", 0);

  // MLflow 3.6's register_model: source models:/<id> plus model_id, no run_id.
  CreateModelVersionRequest from_logged{
      .name = "churn", .source = "models:/" + model->model_id, .model_id = model->model_id};
  auto v1 = registry_->CreateModelVersion(from_logged);
  ASSERT_OK(v1.status());
  EXPECT_EQ(v1->run_id, run_id);
  EXPECT_EQ(v1->model_id, model->model_id);
  EXPECT_EQ(v1->source, "models:/" + model->model_id);
  EXPECT_EQ(*registry_->GetDownloadUri("churn", "1"), model->artifact_uri);

  // MLflow 2's: the run's artifact folder plus run_id; runs:/ resolves too.
  CreateModelVersionRequest from_run{.name = "churn", .source = "runs:/" + run_id + "/model"};
  auto v2 = registry_->CreateModelVersion(from_run);
  ASSERT_OK(v2.status());
  EXPECT_EQ(*registry_->GetDownloadUri("churn", "2"), run->info.artifact_uri + "/model");
  EXPECT_EQ(v2->run_id, run_id);

  ASSERT_OK(registry_->SetAlias("churn", "champion", "1"));
  CreateModelVersionRequest copy{.name = "churn", .source = "models:/churn@champion"};
  ASSERT_OK(registry_->CreateModelVersion(copy).status());
  EXPECT_EQ(*registry_->GetDownloadUri("churn", "3"), model->artifact_uri);

  for (const std::string& uri : std::vector<std::string>{
           "models:/churn/1", "models:/churn@champion", "models:/" + model->model_id}) {
    auto resolved = registry_->ResolveModelUri(uri);
    ASSERT_OK(resolved.status());
    EXPECT_EQ(resolved->artifact_uri, model->artifact_uri) << uri;
    EXPECT_EQ(resolved->run_id, run_id) << uri;
  }
  EXPECT_EQ(registry_->ResolveModelUri("models:/churn/latest")->version->version, 3);
  ASSERT_OK(registry_->TransitionStage("churn", "2", "Staging", false).status());
  EXPECT_EQ(registry_->ResolveModelUri("models:/churn/staging")->version->version, 2);
  EXPECT_THAT(registry_->ResolveModelUri("models:/churn/Production"),
              ::cairn::testing::StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(registry_->ResolveModelUri("models:/churn@nope").status(),
            NotFound("Registered model alias nope not found."));
}

TEST_P(RegistryServiceTest, SearchFiltersOrdersAndPagesRegisteredModels) {
  for (const char* name : {"beta", "Alpha", "alpha-2", "gamma"}) Register(name, 1);
  ASSERT_OK(registry_->SetRegisteredModelTag("beta", {"team", "risk"}));
  ASSERT_OK(registry_->SetRegisteredModelTag("gamma", {"team", "growth"}));

  EXPECT_THAT(ModelNames({}), ElementsAre("Alpha", "alpha-2", "beta", "gamma"));  // Byte order.
  EXPECT_THAT(ModelNames({.filter = "name LIKE 'alpha%'"}), ElementsAre("alpha-2"));
  EXPECT_THAT(ModelNames({.filter = "name ILIKE 'alpha%'"}), ElementsAre("Alpha", "alpha-2"));
  EXPECT_THAT(ModelNames({.filter = "tags.team = 'risk'"}), ElementsAre("beta"));
  // A tag clause matches only models with the tag, also for !=.
  EXPECT_THAT(ModelNames({.filter = "tags.team != 'risk'"}), ElementsAre("gamma"));
  EXPECT_THAT(ModelNames({.order_by = {"name DESC"}}),
              ElementsAre("gamma", "beta", "alpha-2", "Alpha"));
  env_.AdvanceMicros(5000);
  ASSERT_OK(registry_->UpdateRegisteredModel("beta", "touched").status());
  EXPECT_EQ(ModelNames({.order_by = {"timestamp DESC"}}).front(), "beta");

  SearchRequest paged{.max_results = 3};
  auto first = registry_->SearchRegisteredModels(paged);
  ASSERT_OK(first.status());
  ASSERT_EQ(first->models.size(), 3u);
  ASSERT_FALSE(first->next_page_token.empty());
  paged.page_token = first->next_page_token;
  auto second = registry_->SearchRegisteredModels(paged);
  ASSERT_EQ(second->models.size(), 1u);
  EXPECT_EQ(second->models[0].name, "gamma");
  EXPECT_TRUE(second->next_page_token.empty());

  EXPECT_THAT(registry_->SearchRegisteredModels({.filter = "name > 'a'"}),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(registry_->SearchRegisteredModels({.filter = "params.x = 'a'"}),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(registry_->SearchRegisteredModels({.max_results = 1001}),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(registry_->SearchRegisteredModels({.max_results = 0}),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
}

TEST_P(RegistryServiceTest, PromptsAreHiddenUnlessAskedFor) {
  Register("model", 1);
  ASSERT_OK(
      registry_
          ->CreateRegisteredModel("prompt", std::nullopt, {{"mlflow.prompt.is_prompt", "true"}})
          .status());
  ASSERT_OK(registry_
                ->CreateRegisteredModel("not-a-prompt", std::nullopt,
                                        {{"mlflow.prompt.is_prompt", "false"}})
                .status());
  // What MLflow 3.6's client sends for every plain search_registered_models().
  EXPECT_THAT(ModelNames({.filter = "tag.`mlflow.prompt.is_prompt` != 'true'"}),
              ElementsAre("model", "not-a-prompt"));
  EXPECT_THAT(ModelNames({}), ElementsAre("model", "not-a-prompt"));
  EXPECT_THAT(ModelNames({.filter = "tags.`mlflow.prompt.is_prompt` = 'true'"}),
              ElementsAre("prompt"));
  EXPECT_THAT(ModelNames({.filter = "name = 'model' AND tag.`mlflow.prompt.is_prompt` != 'true'"}),
              ElementsAre("model"));
}

TEST_P(RegistryServiceTest, SearchModelVersionsByRunVersionAndTag) {
  Register("a", 3);
  Register("b", 2);
  ASSERT_OK(registry_->SetModelVersionTag("a", "2", {"validated", "yes"}));
  CreateModelVersionRequest with_run{.name = "b", .source = "s3://x/y", .run_id = "run1"};
  ASSERT_OK(registry_->CreateModelVersion(with_run).status());

  // Default order: newest update first.
  EXPECT_THAT(VersionIds({.max_results = 10}),
              ElementsAre("b/3", "b/2", "b/1", "a/3", "a/2", "a/1"));
  EXPECT_THAT(VersionIds({.filter = "name = 'a' AND version_number >= 2", .max_results = 10}),
              ElementsAre("a/3", "a/2"));
  EXPECT_THAT(VersionIds({.filter = "run_id IN ('run1', 'other')", .max_results = 10}),
              ElementsAre("b/3"));
  EXPECT_THAT(VersionIds({.filter = "tags.validated = 'yes'", .max_results = 10}),
              ElementsAre("a/2"));
  EXPECT_THAT(VersionIds({.filter = "source_path LIKE 's3://bucket/a/%'",
                          .max_results = 10,
                          .order_by = {"version_number ASC"}}),
              ElementsAre("a/1", "a/2", "a/3"));
  ASSERT_OK(registry_->DeleteModelVersion("a", "1"));
  EXPECT_THAT(VersionIds({.filter = "name = 'a'", .max_results = 10}), ElementsAre("a/3", "a/2"));
  EXPECT_THAT(
      registry_->SearchModelVersions({.filter = "current_stage = 'None'", .max_results = 10})
          .status(),
      ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
}

TEST_P(RegistryServiceTest, TagsUpsertAndDeleteQuietly) {
  Register("m", 1);
  ASSERT_OK(registry_->SetModelVersionTag("m", "1", {"k", "v1"}));
  ASSERT_OK(registry_->SetModelVersionTag("m", "1", {"k", "v2"}));
  ASSERT_OK(registry_->SetModelVersionTag("m", "1", {"stage:ok", "colon keys are MLflow 3's"}));
  EXPECT_THAT(registry_->GetModelVersion("m", "1")->tags,
              ElementsAre(KeyValue{"k", "v2"}, KeyValue{"stage:ok", "colon keys are MLflow 3's"}));
  ASSERT_OK(registry_->DeleteModelVersionTag("m", "1", "k"));
  ASSERT_OK(registry_->DeleteModelVersionTag("m", "1", "absent"));
  EXPECT_EQ(registry_->GetModelVersion("m", "1")->tags.size(), 1u);
  EXPECT_THAT(registry_->SetModelVersionTag("m", "9", {"k", "v"}),
              ::cairn::testing::StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(registry_->SetRegisteredModelTag("m", {"k", std::string(100001, 'x')}),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
}

// --- Issue 18: guarded changes the gate must see --------------------------------

// Rules for models whose name starts with "gov": Production and champion
// (any case) are guarded; entering is allowed, leaving is refused. Records
// every question.
class FakeGate : public PromotionGate {
 public:
  class Rules : public PromotionRules {
   public:
    Rules(FakeGate* gate, std::string fingerprint)
        : gate_(gate), fingerprint_(std::move(fingerprint)) {}
    bool Guards(const std::string& target) const override {
      return target == "stage:Production" || EqualsIgnoreCase(target, "alias:champion");
    }
    std::string Fingerprint() const override { return fingerprint_; }
    std::string Describe() const override { return "policy " + fingerprint_; }
    Status Allow(store::SqlSession&, const Promotion& p) const override {
      gate_->asked.push_back(p);
      if (p.kind == Promotion::Kind::kLeave) return PermissionDenied("leaving " + p.target);
      return Status::Ok();
    }

   private:
    FakeGate* gate_;
    std::string fingerprint_;
  };
  StatusOr<std::unique_ptr<PromotionRules>> RulesFor(const std::string& model) override {
    if (model == "broken") return PermissionDenied("the policy is broken: broken.yaml");
    if (model.rfind("gov", 0) != 0) return std::unique_ptr<PromotionRules>();
    return std::unique_ptr<PromotionRules>(
        std::make_unique<Rules>(this, model.rfind("gov2", 0) == 0 ? "strict" : "standard"));
  }
  std::vector<Promotion> asked;
};

TEST_P(RegistryServiceTest, GivingUpAGuardedStageOrAliasAsksTheGate) {
  FakeGate gate;
  registry_->SetPromotionGate(&gate);
  Register("gov", 2);
  ASSERT_OK(registry_->TransitionStage("gov", "1", "Production", false).status());
  ASSERT_OK(registry_->SetAlias("gov", "champion", "1"));
  EXPECT_EQ(registry_->TransitionStage("gov", "1", "Archived", false).status(),
            PermissionDenied("leaving stage:Production"));
  EXPECT_EQ(registry_->DeleteAlias("gov", "champion"), PermissionDenied("leaving alias:champion"));
  EXPECT_THAT(registry_->DeleteModelVersion("gov", "1"),
              ::cairn::testing::StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(registry_->DeleteRegisteredModel("gov"),
              ::cairn::testing::StatusIs(StatusCode::kPermissionDenied));
  // Nothing changed.
  EXPECT_EQ(registry_->GetModelVersion("gov", "1")->stage, Stage::kProduction);
  EXPECT_EQ(registry_->GetVersionByAlias("gov", "champion")->version, 1);
  // Unguarded aliases and versions come and go freely.
  ASSERT_OK(registry_->SetAlias("gov", "challenger", "2"));
  ASSERT_OK(registry_->DeleteAlias("gov", "challenger"));
  ASSERT_OK(registry_->DeleteModelVersion("gov", "2"));
  // Replacing the incumbent is an entry, judged against it.
  gate.asked.clear();
  Register("gov-b", 2);
  ASSERT_OK(registry_->TransitionStage("gov-b", "1", "Production", false).status());
  ASSERT_OK(registry_->TransitionStage("gov-b", "2", "Production", true).status());
  ASSERT_EQ(gate.asked.size(), 2u);
  EXPECT_EQ(gate.asked[1].incumbent, 1);
  EXPECT_FALSE(gate.asked[1].incumbent_is_last_promoted);
}

TEST_P(RegistryServiceTest, ABrokenPolicyRefusesStageAndAliasChanges) {
  FakeGate gate;
  registry_->SetPromotionGate(&gate);
  Register("broken", 1);
  EXPECT_THAT(registry_->TransitionStage("broken", "1", "Staging", false),
              ::cairn::testing::StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(registry_->SetAlias("broken", "x", "1"),
              ::cairn::testing::StatusIs(StatusCode::kPermissionDenied));
  // Changes that touch no stage or alias are not the policy's business.
  ASSERT_OK(registry_->SetModelVersionTag("broken", "1", {"k", "v"}));
  EXPECT_EQ(registry_->GetModelVersion("broken", "1")->stage, Stage::kNone);
}

TEST_P(RegistryServiceTest, RenamesCarryNoGuardedStateBetweenDifferentRules) {
  FakeGate gate;
  registry_->SetPromotionGate(&gate);
  Register("gov", 1);
  // Holding nothing guarded: free to move.
  ASSERT_OK(registry_->RenameRegisteredModel("gov", "tmp").status());
  // Promoted where nothing guards it...
  ASSERT_OK(registry_->TransitionStage("tmp", "1", "Production", false).status());
  ASSERT_OK(registry_->SetAlias("tmp", "CHAMPION", "1"));
  // ...it may not come back under the policy.
  auto back = registry_->RenameRegisteredModel("tmp", "gov");
  EXPECT_THAT(back, ::cairn::testing::StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(back.status().message(), HasSubstr("stage Production (version 1)"));
  EXPECT_THAT(back.status().message(), HasSubstr("alias 'CHAMPION' (version 1)"));
  EXPECT_THAT(registry_->GetRegisteredModel("gov"),
              ::cairn::testing::StatusIs(StatusCode::kNotFound));
  // Nor move to other rules; rules alike (same fingerprint) are fine.
  Register("gov-a", 1);
  ASSERT_OK(registry_->TransitionStage("gov-a", "1", "Production", false).status());
  EXPECT_THAT(registry_->RenameRegisteredModel("gov-a", "gov2-a"),
              ::cairn::testing::StatusIs(StatusCode::kPermissionDenied));
  EXPECT_THAT(registry_->RenameRegisteredModel("gov-a", "plain"),
              ::cairn::testing::StatusIs(StatusCode::kPermissionDenied));
  ASSERT_OK(registry_->RenameRegisteredModel("gov-a", "gov-c").status());
}

TEST_P(RegistryServiceTest, AnEmptyTargetIsJudgedAgainstTheLastPromotedVersion) {
  FakeGate gate;
  registry_->SetPromotionGate(&gate);
  Register("gov", 3);
  ASSERT_OK(registry_->TransitionStage("gov", "1", "Production", false).status());
  // Archived without the gate (no policy then), so Production is empty.
  registry_->SetPromotionGate(nullptr);
  ASSERT_OK(registry_->TransitionStage("gov", "1", "Archived", false).status());
  registry_->SetPromotionGate(&gate);
  gate.asked.clear();
  ASSERT_OK(registry_->TransitionStage("gov", "2", "Production", false).status());
  ASSERT_EQ(gate.asked.size(), 1u);
  EXPECT_EQ(gate.asked[0].incumbent, 1);
  EXPECT_TRUE(gate.asked[0].incumbent_is_last_promoted);
  // Aliases: any spelling of a guarded alias is the incumbent.
  ASSERT_OK(registry_->SetAlias("gov", "Champion", "1"));
  gate.asked.clear();
  ASSERT_OK(registry_->SetAlias("gov", "CHAMPION", "3"));
  ASSERT_EQ(gate.asked.size(), 1u);
  EXPECT_EQ(gate.asked[0].incumbent, 1);
  EXPECT_FALSE(gate.asked[0].incumbent_is_last_promoted);
}

INSTANTIATE_TEST_SUITE_P(Backends, RegistryServiceTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace cairn::registry
