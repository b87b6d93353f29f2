// Deployments against a real SQLite metadata store: stored, reloaded after a
// restart, refused when the model cannot load (the previous one keeps
// serving), and a snapshot held by a request outlives a replacement.
#include "serving/deployments.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "core/env.h"
#include "serving/tensor.h"
#include "status_testing.h"
#include "store/sqlite/sqlite_store.h"

namespace cairn::serving {
namespace {

// A model answering a constant, standing in for a loaded one.
class ConstantModel : public ServedModel {
 public:
  explicit ConstantModel(float value) : value_(value) { metadata_.platform = "test"; }
  const ModelMetadata& metadata() const override { return metadata_; }
  StatusOr<std::vector<Tensor>> Predict(const std::vector<Tensor>&) const override {
    return std::vector<Tensor>{Fp32Tensor("y", {1}, {value_})};
  }
  size_t MemoryBytes() const override { return 1000; }  // what the budget tests count

 private:
  float value_;
  ModelMetadata metadata_;
};

// A model that loads and then fails every prediction (an injected fault).
class FailingModel : public ConstantModel {
 public:
  FailingModel() : ConstantModel(-1) {}
  StatusOr<std::vector<Tensor>> Predict(const std::vector<Tensor>&) const override {
    return Internal("the model failed");
  }
};

class DeploymentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("deployments-test-" + Env::Default()->RandomHex(8));
    std::filesystem::create_directories(dir_);
    Open();
  }
  void TearDown() override {
    deployments_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    deployments_.reset();
    store_.reset();
    auto store = store::OpenSqliteStore((dir_ / "metadata.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    // "models:/m/<v>": version v loads as a model answering v; version 0 fails to load.
    // "models:/m@champion" follows champion_ (a moving reference).
    auto resolve = [this](const std::string& uri) -> StatusOr<ResolvedSource> {
      if (uri == "models:/m@champion") {
        if (champion_.empty()) return NotFound("no alias champion");
        return ResolvedSource{"models/" + champion_, "m", champion_, true};
      }
      if (uri.rfind("models:/m/", 0) != 0) return NotFound("no model at " + uri);
      return ResolvedSource{"models/" + uri.substr(10), "m", uri.substr(10)};
    };
    // Version -1 loads a model whose every prediction fails.
    auto load = [](const ResolvedSource& source, const DeploymentSpec&) -> StatusOr<LoadedModel> {
      float v = std::stof(source.artifact_path.substr(7));
      if (v == 0) return InvalidArgument("model file 'models/0/model.json': broken");
      LoadedModel loaded;
      if (v < 0) {
        loaded.model = std::make_unique<FailingModel>();
      } else {
        loaded.model = std::make_unique<ConstantModel>(v);
      }
      loaded.flavor = "test";
      return loaded;
    };
    deployments_ = std::make_unique<Deployments>(store_.get(), Env::Default(), resolve, load);
    deployments_->SetMemoryBudget(budget_);
    ASSERT_OK(deployments_->Init());
  }
  // Runs `n` requests routed by `deployment`'s weights; returns answers by value.
  std::map<float, int> Serve(const std::string& deployment, int n) {
    std::map<float, int> answers;
    for (int i = 0; i < n; ++i) {
      auto d = deployments_->Find(deployment);
      auto v = deployments_->Route(*d, {});
      EXPECT_TRUE(v.ok()) << v.status().ToString();
      if (!v.ok()) break;
      auto out = deployments_->Predict(*d, **v, {});
      ++answers[out.ok() ? out->at(0).FloatAt(0) : NAN];
    }
    return answers;
  }
  static DeploymentSpec TwoVariants(const std::string& name, const std::string& stable,
                                    int64_t stable_weight, const std::string& canary,
                                    int64_t canary_weight) {
    DeploymentSpec spec;
    spec.name = name;
    spec.variants = {{"stable", stable, stable_weight}, {"canary", canary, canary_weight}};
    return spec;
  }
  static float Answer(const Deployment& d) {
    auto out = d.primary().model->Predict({});
    return out->at(0).FloatAt(0);
  }

  std::string champion_ = "1";
  uint64_t budget_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<Deployments> deployments_;
};

// An external endpoint that is down when the server starts: its variant is
// not ready, and is tried again every kEndpointRetryMicros (not on every
// refresh) until the endpoint answers.
TEST_F(DeploymentsTest, AnEndpointDownAtStartIsTriedAgainUntilItAnswers) {
  FakeEnv clock;
  bool up = true;
  int connects = 0;
  auto resolve = [](const std::string& uri) -> StatusOr<ResolvedSource> {
    ResolvedSource source;
    source.endpoint = uri;
    return source;
  };
  auto load = [&](const ResolvedSource&, const DeploymentSpec&) -> StatusOr<LoadedModel> {
    ++connects;
    if (!up) return Unavailable("the external endpoint did not answer");
    LoadedModel loaded;
    loaded.model = std::make_unique<ConstantModel>(7);
    loaded.flavor = "external";
    return loaded;
  };
  auto open = [&] {
    auto d = std::make_unique<Deployments>(store_.get(), &clock, resolve, load);
    EXPECT_OK(d->Init());
    return d;
  };
  deployments_.reset();
  std::unique_ptr<Deployments> deployments = open();
  ASSERT_OK(
      deployments->Deploy(DeploymentSpec::Single("ext", "http://e:1/v2/models/x"), "ada").status());
  up = false;
  deployments = open();  // a restart while the endpoint is down
  EXPECT_FALSE(deployments->Find("ext")->ready());
  deployments->Refresh();
  const int tried = connects;
  up = true;
  deployments->Refresh();
  EXPECT_EQ(connects, tried) << "tried again at once";
  EXPECT_FALSE(deployments->Find("ext")->ready());
  clock.AdvanceMicros(5'000'001);
  deployments->Refresh();
  ASSERT_TRUE(deployments->Find("ext")->ready()) << deployments->Find("ext")->NotReadyReason();
  EXPECT_EQ(Answer(*deployments->Find("ext")), 7);
}

TEST_F(DeploymentsTest, StoredReloadedReplacedRemoved) {
  ASSERT_OK(deployments_->Deploy(DeploymentSpec::Single("churn", "models:/m/3"), "alice").status());
  std::shared_ptr<const Deployment> held = deployments_->Find("churn");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(Answer(*held), 3.0f);
  EXPECT_EQ(held->created_by, "alice");

  // A replacement that cannot load is refused; the old one keeps serving.
  EXPECT_THAT(deployments_->Deploy(DeploymentSpec::Single("churn", "models:/m/0"), "bob"),
              testing::StatusIs(StatusCode::kInvalidArgument, ::testing::HasSubstr("broken")));
  EXPECT_EQ(Answer(*deployments_->Find("churn")), 3.0f);
  EXPECT_THAT(deployments_->Deploy(DeploymentSpec::Single("churn", "models:/other/1"), "bob"),
              testing::StatusIs(StatusCode::kNotFound));

  ASSERT_OK(deployments_->Deploy(DeploymentSpec::Single("churn", "models:/m/4"), "bob").status());
  EXPECT_EQ(Answer(*deployments_->Find("churn")), 4.0f);
  EXPECT_EQ(Answer(*held), 3.0f);  // a request holding the old snapshot finishes on it

  Open();  // a restart
  ASSERT_NE(deployments_->Find("churn"), nullptr);
  EXPECT_EQ(Answer(*deployments_->Find("churn")), 4.0f);
  EXPECT_EQ(deployments_->Find("churn")->primary().spec.model_uri, "models:/m/4");

  ASSERT_OK(deployments_->Remove("churn"));
  EXPECT_EQ(deployments_->Find("churn"), nullptr);
  EXPECT_THAT(deployments_->Remove("churn"), testing::StatusIs(StatusCode::kNotFound));
  Open();
  EXPECT_TRUE(deployments_->List().empty());
}

TEST_F(DeploymentsTest, RefreshFollowsAnAliasAndKeepsServingThroughABrokenVersion) {
  ASSERT_OK(
      deployments_->Deploy(DeploymentSpec::Single("follow", "models:/m@champion"), "").status());
  ASSERT_OK(deployments_->Deploy(DeploymentSpec::Single("pinned", "models:/m/1"), "").status());
  EXPECT_EQ(deployments_->Refresh(), 0);  // nothing moved

  champion_ = "2";
  std::shared_ptr<const Deployment> before = deployments_->Find("follow");
  EXPECT_EQ(deployments_->Refresh(), 1);
  EXPECT_EQ(Answer(*deployments_->Find("follow")), 2.0f);
  EXPECT_EQ(deployments_->Find("follow")->primary().source.version, "2");
  EXPECT_EQ(Answer(*before), 1.0f);  // in-flight requests finish on the old model
  EXPECT_EQ(Answer(*deployments_->Find("pinned")), 1.0f);

  champion_ = "0";  // a version that fails to load
  EXPECT_EQ(deployments_->Refresh(), 0);
  auto kept = deployments_->Find("follow");
  EXPECT_EQ(Answer(*kept), 2.0f);
  EXPECT_TRUE(kept->ready());
  EXPECT_THAT(kept->primary().failed_reason, ::testing::HasSubstr("version 0 did not load"));
  EXPECT_EQ(deployments_->Refresh(), 0);  // not retried until the alias moves again
  EXPECT_EQ(deployments_->Find("follow"), kept);

  champion_ = "3";
  EXPECT_EQ(deployments_->Refresh(), 1);
  EXPECT_EQ(Answer(*deployments_->Find("follow")), 3.0f);
  EXPECT_TRUE(deployments_->Find("follow")->primary().failed_reason.empty());

  champion_ = "";  // the alias is deleted: keep serving what was served
  EXPECT_EQ(deployments_->Refresh(), 0);
  EXPECT_EQ(Answer(*deployments_->Find("follow")), 3.0f);
}

TEST_F(DeploymentsTest, NamesAreChecked) {
  for (const char* bad : {"", "Churn", "1churn", "churn_v2", "a/b", "-x"}) {
    EXPECT_THAT(deployments_->Deploy(DeploymentSpec::Single(bad, "models:/m/1"), ""),
                testing::StatusIs(StatusCode::kInvalidArgument))
        << bad;
  }
  EXPECT_OK(deployments_->Deploy(DeploymentSpec::Single(std::string(63, 'a'), "models:/m/1"), "")
                .status());
  EXPECT_THAT(deployments_->Deploy(DeploymentSpec::Single(std::string(64, 'a'), "models:/m/1"), ""),
              testing::StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(DeploymentsTest, VariantsShareTrafficByWeightAndStickToAKey) {
  ASSERT_OK(
      deployments_->Deploy(TwoVariants("ab", "models:/m/1", 80, "models:/m/2", 20), "").status());
  // 10,000 draws at 20%: the canary's count is 2,000 +- 40 (one sigma).
  std::map<float, int> answers = Serve("ab", 10000);
  EXPECT_GT(answers[2.0f], 1800);
  EXPECT_LT(answers[2.0f], 2200);
  EXPECT_EQ(answers[1.0f] + answers[2.0f], 10000);

  auto d = deployments_->Find("ab");
  // A sticky key always lands on the same variant; many keys reach both.
  std::map<std::string, int> by_variant;
  for (int key = 0; key < 1000; ++key) {
    const std::string k = "user-" + std::to_string(key);
    auto first = deployments_->Route(*d, {.sticky_key = k});
    ASSERT_OK(first.status());
    for (int again = 0; again < 5; ++again) {
      EXPECT_EQ(*deployments_->Route(*d, {.sticky_key = k}), *first);
    }
    ++by_variant[(*first)->spec.name];
  }
  EXPECT_GT(by_variant["canary"], 120);
  EXPECT_GT(by_variant["stable"], 700);
  // A variant named back by the client is honoured while it is live.
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ((*deployments_->Route(*d, {.variant = "canary"}))->spec.name, "canary");
  }
  // The URL's registry version picks its variant; another version is not served.
  EXPECT_EQ((*deployments_->Route(*d, {.version = "2"}))->spec.name, "canary");
  EXPECT_THAT(
      deployments_->Route(*d, {.version = "7"}),
      testing::StatusIs(StatusCode::kNotFound, ::testing::HasSubstr("version 1, 2, not 7")));

  // Weight 0: no traffic, and a client naming it is routed by weight instead.
  ASSERT_OK(deployments_->SetWeights("ab", {{"canary", 0}}).status());
  d = deployments_->Find("ab");
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ((*deployments_->Route(*d, {.variant = "canary"}))->spec.name, "stable");
  }
}

TEST_F(DeploymentsTest, TrafficChangesLoadNothingAndSurviveARestart) {
  ASSERT_OK(
      deployments_->Deploy(TwoVariants("ab", "models:/m/1", 50, "models:/m/2", 50), "").status());
  const ServedModel* stable_model = deployments_->Find("ab")->variants[0].model.get();
  ASSERT_OK(deployments_->SetWeights("ab", {{"stable", 0}, {"canary", 100}}).status());
  EXPECT_EQ(deployments_->Find("ab")->variants[0].model.get(), stable_model);
  EXPECT_EQ(Serve("ab", 100)[2.0f], 100);  // blue/green: all on the other one

  EXPECT_THAT(deployments_->SetWeights("ab", {{"canary", 0}}),
              testing::StatusIs(StatusCode::kInvalidArgument, ::testing::HasSubstr("no live")));
  EXPECT_THAT(deployments_->SetWeights("ab", {{"nope", 1}}),
              testing::StatusIs(StatusCode::kInvalidArgument, ::testing::HasSubstr("'nope'")));
  EXPECT_THAT(deployments_->SetWeights("ab", {{"stable", -1}}),
              testing::StatusIs(StatusCode::kInvalidArgument, ::testing::HasSubstr("weight")));
  EXPECT_EQ(Serve("ab", 100)[2.0f], 100);  // refused changes changed nothing

  Open();
  EXPECT_EQ(Serve("ab", 100)[2.0f], 100);
  ASSERT_OK(deployments_->RollBack("ab", "by hand").status());
  EXPECT_EQ(Serve("ab", 100)[1.0f], 100);
  ASSERT_OK(deployments_->Promote("ab", "canary").status());
  auto d = deployments_->Find("ab");
  ASSERT_EQ(d->variants.size(), 1u);
  EXPECT_EQ(d->primary().spec.name, "canary");
  Open();
  EXPECT_EQ(Serve("ab", 100)[2.0f], 100);
}

TEST_F(DeploymentsTest, ShadowsSeeCopiesNeverAnswerAndAreCompared) {
  DeploymentSpec spec = DeploymentSpec::Single("sh", "models:/m/1");
  spec.variants.push_back({"same", "models:/m/1", 0, true, 100});
  spec.variants.push_back({"other", "models:/m/3", 0, true, 100});
  spec.variants.push_back({"half", "models:/m/1", 0, true, 50});
  ASSERT_OK(deployments_->Deploy(spec, "").status());
  EXPECT_EQ(Serve("sh", 400)[1.0f], 400);  // only the live variant answers
  auto d = deployments_->Find("sh");
  auto compared = [&](int i) { return d->variants[static_cast<size_t>(i)].stats->Snapshot(); };
  // Every copy compared, failed or dropped: the shadow worker is done.
  auto settled = [&] {
    for (int i : {1, 2, 3}) {
      TrafficCounts c = compared(i);
      if (c.compared + c.shadow_failed + c.dropped < c.mirrored) return false;
    }
    return true;
  };
  for (int tries = 0; tries < 1000 && !settled(); ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(settled());
  TrafficCounts same = compared(1), other = compared(2), half = compared(3);
  EXPECT_EQ(same.mirrored, 400);
  EXPECT_EQ(same.compared + same.dropped, 400);
  EXPECT_EQ(same.agreed, same.compared);
  EXPECT_EQ(same.abs_diff_sum, 0);
  EXPECT_EQ(other.agreed, 0);
  EXPECT_DOUBLE_EQ(other.abs_diff_sum / static_cast<double>(other.diff_elements), 2.0);
  EXPECT_GT(half.mirrored, 120);  // 50% of 400: 200 +- 10
  EXPECT_LT(half.mirrored, 280);
  EXPECT_EQ(deployments_->Find("sh")->variants[0].stats->Snapshot().requests, 400);
}

TEST_F(DeploymentsTest, ACanaryStepsUpAndIsPromoted) {
  DeploymentSpec spec = TwoVariants("roll", "models:/m/1", 100, "models:/m/2", 100);
  spec.rollout = RolloutPolicy{{10, 50, 100}, 20, 0.01, 0};
  ASSERT_OK(deployments_->Deploy(spec, "").status());
  auto d = deployments_->Find("roll");
  EXPECT_EQ(d->rollout.phase, RolloutState::Phase::kStepping);
  EXPECT_EQ(d->variants[1].spec.weight, 10);
  EXPECT_EQ(deployments_->JudgeRollouts(), 0);  // no evidence yet
  // Each step waits for 20 canary answers; after the last (100%) comes promotion.
  for (int step : {1, 2, 3}) {
    while (deployments_->Find("roll")->variants[1].stats->Snapshot().requests <
           deployments_->Find("roll")->rollout.canary_start.requests + 20) {
      Serve("roll", 50);
    }
    EXPECT_EQ(deployments_->JudgeRollouts(), 1);
    d = deployments_->Find("roll");
    if (step < 3) {
      EXPECT_EQ(d->rollout.step, step);
      EXPECT_EQ(d->variants[1].spec.weight, spec.rollout->steps[static_cast<size_t>(step)]);
    }
  }
  d = deployments_->Find("roll");
  EXPECT_EQ(d->rollout.phase, RolloutState::Phase::kPromoted);
  ASSERT_EQ(d->variants.size(), 1u);
  EXPECT_EQ(Answer(*d), 2.0f);
  Open();
  EXPECT_EQ(Serve("roll", 50)[2.0f], 50);
}

TEST_F(DeploymentsTest, AFailingCanaryIsRolledBackAndStaysBack) {
  DeploymentSpec spec = TwoVariants("roll", "models:/m/1", 100, "models:/m/-1", 100);
  spec.rollout = RolloutPolicy{{50, 100}, 30, 0.01, 0};
  ASSERT_OK(deployments_->Deploy(spec, "").status());
  while (deployments_->Find("roll")->variants[1].stats->Snapshot().requests < 30) {
    Serve("roll", 10);
  }
  EXPECT_EQ(deployments_->JudgeRollouts(), 1);
  auto d = deployments_->Find("roll");
  EXPECT_EQ(d->rollout.phase, RolloutState::Phase::kRolledBack);
  EXPECT_THAT(d->rollout.reason, ::testing::HasSubstr("error rate 100.00%"));
  EXPECT_EQ(d->variants[1].spec.weight, 0);
  EXPECT_EQ(Serve("roll", 200)[1.0f], 200);  // every request on stable now
  EXPECT_EQ(deployments_->JudgeRollouts(), 0);
  Open();
  EXPECT_EQ(deployments_->Find("roll")->rollout.phase, RolloutState::Phase::kRolledBack);
  EXPECT_EQ(Serve("roll", 200)[1.0f], 200);
}

TEST_F(DeploymentsTest, AVariantThatCannotLoadRefusesTheDeploy) {
  ASSERT_OK(deployments_->Deploy(DeploymentSpec::Single("ab", "models:/m/1"), "").status());
  EXPECT_THAT(deployments_->Deploy(TwoVariants("ab", "models:/m/1", 50, "models:/m/0", 50), ""),
              testing::StatusIs(StatusCode::kInvalidArgument,
                                ::testing::HasSubstr("variant 'canary': model file")));
  EXPECT_EQ(deployments_->Find("ab")->variants.size(), 1u);
  EXPECT_EQ(Serve("ab", 20)[1.0f], 20);
}

TEST_F(DeploymentsTest, SampledRequestsShadowsAndRefusalsReachThePayloadLog) {
  const std::string dir = (dir_ / "payloads").string();
  auto log = PayloadLog::Open(Env::Default(), {.dir = dir});
  ASSERT_OK(log.status());
  deployments_->SetPayloadLog(log->get());
  DeploymentSpec logged = DeploymentSpec::Single("logged", "models:/m/1");
  logged.variants.push_back({"next", "models:/m/2", 0, true, 100});
  logged.log_percent = 100;
  ASSERT_OK(deployments_->Deploy(logged, "").status());
  ASSERT_OK(deployments_->Deploy(DeploymentSpec::Single("quiet", "models:/m/1"), "").status());

  auto d = deployments_->Find("logged");
  ASSERT_OK(deployments_->Predict(*d, d->variants[0], {Fp32Tensor("x", {1}, {5})}, "r-1").status());
  deployments_->Refuse(*d, d->variants[0], InvalidArgument("bad body"), "r-2");
  auto q = deployments_->Find("quiet");
  ASSERT_OK(deployments_->Predict(*q, q->variants[0], {}, "r-3").status());
  // The shadow's answer is logged from its worker: wait for it.
  for (int i = 0; i < 500 && d->variants[1].stats->Snapshot().compared < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (*log)->Flush();
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(e.path());
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 3) << all;
  EXPECT_THAT(
      all,
      ::testing::HasSubstr(
          R"("variant":"primary","model_version":"1","request_id":"r-1","shadow":false,"status":"ok")"));
  EXPECT_THAT(
      all,
      ::testing::HasSubstr(
          R"("variant":"next","model_version":"2","request_id":"r-1","shadow":true,"status":"ok")"));
  EXPECT_THAT(all, ::testing::HasSubstr(R"("request_id":"r-2","shadow":false,"status":"error")"));
  EXPECT_THAT(all, ::testing::Not(::testing::HasSubstr("r-3")));  // log_percent 0
  deployments_->SetPayloadLog(nullptr);
}

TEST_F(DeploymentsTest, AFollowedAliasRollsItsNewVersionsOutAsCanaries) {
  DeploymentSpec spec;
  spec.name = "champ";
  spec.follow = "models:/m@champion";
  spec.rollout = RolloutPolicy{{50, 100}, 10, 0.01, 0};
  ASSERT_OK(deployments_->Deploy(spec, "").status());
  auto d = deployments_->Find("champ");
  ASSERT_EQ(d->variants.size(), 1u);
  EXPECT_EQ(d->primary().spec.model_uri, "models:/m/1");  // pinned to what the alias named
  EXPECT_EQ(deployments_->Refresh(), 0);

  champion_ = "2";  // the alias moves: version 2 becomes the canary at 50%
  EXPECT_EQ(deployments_->Refresh(), 1);
  d = deployments_->Find("champ");
  ASSERT_EQ(d->variants.size(), 2u);
  EXPECT_EQ(d->variants[1].spec.model_uri, "models:/m/2");
  EXPECT_EQ(d->variants[1].spec.weight, 50);
  EXPECT_EQ(d->rollout.phase, RolloutState::Phase::kStepping);
  std::map<float, int> both = Serve("champ", 400);
  EXPECT_GT(both[1.0f], 100);
  EXPECT_GT(both[2.0f], 100);
  EXPECT_EQ(deployments_->Refresh(), 0);  // version 2 is served: nothing to do

  // Steps, then promotion: version 2 alone, still following the alias.
  for (int judged = 0; judged < 2; ++judged) {
    while (deployments_->Find("champ")->variants[1].stats->Snapshot().requests <
           deployments_->Find("champ")->rollout.canary_start.requests + 10) {
      Serve("champ", 20);
    }
    EXPECT_EQ(deployments_->JudgeRollouts(), 1);
  }
  d = deployments_->Find("champ");
  ASSERT_EQ(d->variants.size(), 1u);
  EXPECT_EQ(Answer(*d), 2.0f);
  EXPECT_EQ(d->rollout.phase, RolloutState::Phase::kPromoted);

  // The next move is a failing version: the canary is rolled back, version 2 serves on.
  champion_ = "-1";
  EXPECT_EQ(deployments_->Refresh(), 1);
  while (deployments_->Find("champ")->variants[1].stats->Snapshot().requests < 10) {
    Serve("champ", 10);
  }
  d = deployments_->Find("champ");
  EXPECT_EQ(deployments_->JudgeRollouts(), 1)
      << RolloutPhaseName(d->rollout.phase) << " " << d->rollout.reason << " "
      << d->variants[1].stats->Snapshot().errors << " " << d->variants[1].spec.model_uri;
  d = deployments_->Find("champ");
  EXPECT_EQ(d->rollout.phase, RolloutState::Phase::kRolledBack);
  EXPECT_EQ(Serve("champ", 50)[2.0f], 50);
  EXPECT_EQ(deployments_->Refresh(), 0);  // the rolled-back version is not tried again

  // A version that does not load leaves the stable one serving, with the reason.
  champion_ = "0";
  EXPECT_EQ(deployments_->Refresh(), 0);
  EXPECT_THAT(deployments_->Find("champ")->primary().failed_reason,
              ::testing::HasSubstr("version 0 of models:/m@champion did not load"));
  champion_ = "3";  // and the next good one rolls out again, replacing the rolled-back canary
  EXPECT_EQ(deployments_->Refresh(), 1);
  d = deployments_->Find("champ");
  ASSERT_EQ(d->variants.size(), 2u);
  EXPECT_EQ(d->variants[1].spec.model_uri, "models:/m/3");
  EXPECT_EQ(d->rollout.phase, RolloutState::Phase::kStepping);
  Open();  // a restart mid-rollout keeps both versions and the step
  d = deployments_->Find("champ");
  ASSERT_EQ(d->variants.size(), 2u);
  EXPECT_EQ(d->rollout.phase, RolloutState::Phase::kStepping);
  EXPECT_EQ(Answer(*d), 2.0f);
}

TEST_F(DeploymentsTest, TheMemoryBudgetUnloadsTheLeastRecentlyUsedAndReloadsOnDemand) {
  budget_ = 2500;  // two models of 1000 bytes, not three
  Open();
  auto tick = [] { std::this_thread::sleep_for(std::chrono::milliseconds(2)); };
  ASSERT_OK(deployments_->Deploy(DeploymentSpec::Single("a", "models:/m/1"), "alice").status());
  tick();
  ASSERT_OK(deployments_->Deploy(DeploymentSpec::Single("b", "models:/m/2"), "alice").status());
  tick();
  ASSERT_OK(deployments_->Use(deployments_->Find("a")).status());  // b is now the least recent
  tick();
  ASSERT_OK(deployments_->Deploy(DeploymentSpec::Single("c", "models:/m/3"), "alice").status());
  auto b = deployments_->Find("b");
  EXPECT_TRUE(b->evicted);
  EXPECT_FALSE(b->ready());
  EXPECT_THAT(b->NotReadyReason(), ::testing::HasSubstr("--serving-memory-mb"));
  EXPECT_TRUE(deployments_->Find("a")->ready());
  EXPECT_TRUE(deployments_->Find("c")->ready());

  // Its next request loads it again, unloading the least recent of the others (a).
  tick();
  auto used = deployments_->Use(b);
  ASSERT_OK(used.status());
  ASSERT_TRUE((*used)->ready());
  EXPECT_EQ(Answer(**used), 2);
  EXPECT_TRUE(deployments_->Find("a")->evicted);
  EXPECT_FALSE(deployments_->Find("c")->evicted);
  auto a = Serve("b", 3);
  EXPECT_EQ(a[2], 3);

  // Pinned deployments stay; once only pinned ones are loaded, no room is made.
  tick();
  DeploymentSpec d = DeploymentSpec::Single("d", "models:/m/4");
  d.pinned = true;
  ASSERT_OK(deployments_->Deploy(d, "alice").status());
  EXPECT_TRUE(deployments_->Find("c")->evicted);  // c was used before b
  tick();
  DeploymentSpec e = DeploymentSpec::Single("e", "models:/m/5");
  e.pinned = true;
  ASSERT_OK(deployments_->Deploy(e, "alice").status());
  EXPECT_TRUE(deployments_->Find("b")->evicted);
  EXPECT_THAT(deployments_->Deploy(DeploymentSpec::Single("f", "models:/m/6"), "alice").status(),
              testing::StatusIs(StatusCode::kResourceExhausted,
                                ::testing::HasSubstr("--serving-memory-mb")));
  EXPECT_EQ(deployments_->Find("f"), nullptr);
  EXPECT_THAT(deployments_->Use(deployments_->Find("a")).status(),
              testing::StatusIs(StatusCode::kResourceExhausted));

  // After a restart the stored deployments load within the budget.
  Open();
  uint64_t loaded = 0;
  for (const auto& dep : deployments_->List()) loaded += dep->MemoryBytes();
  EXPECT_LE(loaded, budget_);
  EXPECT_TRUE(deployments_->Find("d")->ready());
  EXPECT_TRUE(deployments_->Find("e")->ready());
}

TEST_F(DeploymentsTest, AFollowedVersionThatDoesNotFitTheBudgetLeavesThePreviousServing) {
  budget_ = 2500;
  Open();
  DeploymentSpec pinned = DeploymentSpec::Single("p", "models:/m/9");
  pinned.pinned = true;
  ASSERT_OK(deployments_->Deploy(pinned, "alice").status());
  DeploymentSpec follow;
  follow.name = "f";
  follow.follow = "models:/m@champion";
  ASSERT_OK(deployments_->Deploy(follow, "alice").status());
  champion_ = "7";  // a second model beside the first would need 3000 bytes
  deployments_->Refresh();
  auto f = deployments_->Find("f");
  EXPECT_EQ(Answer(*f), 1);
  EXPECT_THAT(f->primary().failed_reason, ::testing::HasSubstr("--serving-memory-mb"));
  deployments_->Refresh();  // not tried again until the alias moves again
  EXPECT_EQ(deployments_->Find("f"), f);
}

}  // namespace
}  // namespace cairn::serving
