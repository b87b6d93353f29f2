// Deployments against a real SQLite metadata store: stored, reloaded after a
// restart, refused when the model cannot load (the previous one keeps
// serving), and a snapshot held by a request outlives a replacement.
#include "serving/deployments.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

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
  size_t MemoryBytes() const override { return sizeof(*this); }

 private:
  float value_;
  ModelMetadata metadata_;
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
    auto load = [](const std::string& path) -> StatusOr<LoadedModel> {
      float v = std::stof(path.substr(7));
      if (v == 0) return InvalidArgument("model file 'models/0/model.json': broken");
      LoadedModel loaded;
      loaded.model = std::make_unique<ConstantModel>(v);
      loaded.flavor = "test";
      return loaded;
    };
    deployments_ = std::make_unique<Deployments>(store_.get(), Env::Default(), resolve, load);
    ASSERT_OK(deployments_->Init());
  }
  static float Answer(const Deployment& d) {
    auto out = d.model->Predict({});
    return out->at(0).FloatAt(0);
  }

  std::string champion_ = "1";
  std::filesystem::path dir_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<Deployments> deployments_;
};

TEST_F(DeploymentsTest, StoredReloadedReplacedRemoved) {
  ASSERT_OK(deployments_->Deploy({"churn", "models:/m/3"}, "alice").status());
  std::shared_ptr<const Deployment> held = deployments_->Find("churn");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(Answer(*held), 3.0f);
  EXPECT_EQ(held->created_by, "alice");

  // A replacement that cannot load is refused; the old one keeps serving.
  EXPECT_THAT(deployments_->Deploy({"churn", "models:/m/0"}, "bob"),
              testing::StatusIs(StatusCode::kInvalidArgument, ::testing::HasSubstr("broken")));
  EXPECT_EQ(Answer(*deployments_->Find("churn")), 3.0f);
  EXPECT_THAT(deployments_->Deploy({"churn", "models:/other/1"}, "bob"),
              testing::StatusIs(StatusCode::kNotFound));

  ASSERT_OK(deployments_->Deploy({"churn", "models:/m/4"}, "bob").status());
  EXPECT_EQ(Answer(*deployments_->Find("churn")), 4.0f);
  EXPECT_EQ(Answer(*held), 3.0f);  // a request holding the old snapshot finishes on it

  Open();  // a restart
  ASSERT_NE(deployments_->Find("churn"), nullptr);
  EXPECT_EQ(Answer(*deployments_->Find("churn")), 4.0f);
  EXPECT_EQ(deployments_->Find("churn")->spec.model_uri, "models:/m/4");

  ASSERT_OK(deployments_->Remove("churn"));
  EXPECT_EQ(deployments_->Find("churn"), nullptr);
  EXPECT_THAT(deployments_->Remove("churn"), testing::StatusIs(StatusCode::kNotFound));
  Open();
  EXPECT_TRUE(deployments_->List().empty());
}

TEST_F(DeploymentsTest, RefreshFollowsAnAliasAndKeepsServingThroughABrokenVersion) {
  ASSERT_OK(deployments_->Deploy({"follow", "models:/m@champion"}, "").status());
  ASSERT_OK(deployments_->Deploy({"pinned", "models:/m/1"}, "").status());
  EXPECT_EQ(deployments_->Refresh(), 0);  // nothing moved

  champion_ = "2";
  std::shared_ptr<const Deployment> before = deployments_->Find("follow");
  EXPECT_EQ(deployments_->Refresh(), 1);
  EXPECT_EQ(Answer(*deployments_->Find("follow")), 2.0f);
  EXPECT_EQ(deployments_->Find("follow")->source.version, "2");
  EXPECT_EQ(Answer(*before), 1.0f);  // in-flight requests finish on the old model
  EXPECT_EQ(Answer(*deployments_->Find("pinned")), 1.0f);

  champion_ = "0";  // a version that fails to load
  EXPECT_EQ(deployments_->Refresh(), 0);
  auto kept = deployments_->Find("follow");
  EXPECT_EQ(Answer(*kept), 2.0f);
  EXPECT_TRUE(kept->ready());
  EXPECT_THAT(kept->failed_reason, ::testing::HasSubstr("version 0 did not load"));
  EXPECT_EQ(deployments_->Refresh(), 0);  // not retried until the alias moves again
  EXPECT_EQ(deployments_->Find("follow"), kept);

  champion_ = "3";
  EXPECT_EQ(deployments_->Refresh(), 1);
  EXPECT_EQ(Answer(*deployments_->Find("follow")), 3.0f);
  EXPECT_TRUE(deployments_->Find("follow")->failed_reason.empty());

  champion_ = "";  // the alias is deleted: keep serving what was served
  EXPECT_EQ(deployments_->Refresh(), 0);
  EXPECT_EQ(Answer(*deployments_->Find("follow")), 3.0f);
}

TEST_F(DeploymentsTest, NamesAreChecked) {
  for (const char* bad : {"", "Churn", "1churn", "churn_v2", "a/b", "-x"}) {
    EXPECT_THAT(deployments_->Deploy({bad, "models:/m/1"}, ""),
                testing::StatusIs(StatusCode::kInvalidArgument))
        << bad;
  }
  EXPECT_OK(deployments_->Deploy({std::string(63, 'a'), "models:/m/1"}, "").status());
  EXPECT_THAT(deployments_->Deploy({std::string(64, 'a'), "models:/m/1"}, ""),
              testing::StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace cairn::serving
