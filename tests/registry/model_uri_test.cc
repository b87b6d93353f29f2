#include "registry/model_uri.h"
#include "status_testing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cairn::registry {
namespace {

TEST(ModelUriTest, ParsesEveryForm) {
  auto version = ParseModelUri("models:/churn/3");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->kind, ModelUri::Kind::kVersion);
  EXPECT_EQ(version->name, "churn");
  EXPECT_EQ(version->version, 3);

  auto stage = ParseModelUri("models:/churn/production");
  ASSERT_TRUE(stage.ok());
  EXPECT_EQ(stage->kind, ModelUri::Kind::kStage);
  EXPECT_EQ(stage->stage, Stage::kProduction);

  EXPECT_EQ(ParseModelUri("models:/churn/LATEST")->kind, ModelUri::Kind::kLatest);

  auto alias = ParseModelUri("models:/team@churn@champion");  // Split at the last '@'.
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(alias->kind, ModelUri::Kind::kAlias);
  EXPECT_EQ(alias->name, "team@churn");
  EXPECT_EQ(alias->alias, "champion");

  auto logged = ParseModelUri("models:/m-0123abcd");
  ASSERT_TRUE(logged.ok());
  EXPECT_EQ(logged->kind, ModelUri::Kind::kLoggedModel);
  EXPECT_EQ(logged->model_id, "m-0123abcd");

  auto run = ParseModelUri("runs:/abc123/model/");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->kind, ModelUri::Kind::kRun);
  EXPECT_EQ(run->run_id, "abc123");
  EXPECT_EQ(run->path, "model");
  EXPECT_EQ(ParseModelUri("runs:/abc123")->path, "");
}

TEST(ModelUriTest, RejectsMalformedUrisNamingTheValidForms) {
  for (const char* bad : {"models:/", "models:/a/b/c", "models:/a/Live", "models:/@x", "models:/a@",
                          "models:churn/1", "s3://b/m", "runs:/"}) {
    auto parsed = ParseModelUri(bad);
    EXPECT_THAT(parsed, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
  EXPECT_NE(ParseModelUri("models:/a/b/c").status().message().find("models:/<name>/<version>"),
            std::string::npos);
}

}  // namespace
}  // namespace cairn::registry
