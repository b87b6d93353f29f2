#include "governance/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cairn::governance {
namespace {

using ::testing::HasSubstr;

TEST(PolicyTest, ParsesTheDocumentedForm) {
  auto policy = ParsePolicy(R"(
aliases: [champion]
gates:
  - rmse <= 0.95 * production.rmse
  - auc >= 0.8
  - "loss < production.loss"
approvals: 2
)",
                            "churn.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_EQ(policy->stages, std::vector<std::string>{"Production"});
  EXPECT_TRUE(policy->Guards("stage:Production"));
  EXPECT_FALSE(policy->Guards("stage:Staging"));
  EXPECT_TRUE(policy->Guards("alias:champion"));
  EXPECT_FALSE(policy->Guards("alias:challenger"));
  EXPECT_EQ(policy->approvals, 2);
  ASSERT_EQ(policy->gates.size(), 3u);
  EXPECT_EQ(policy->gates[0].metric, "rmse");
  EXPECT_EQ(policy->gates[0].op, "<=");
  EXPECT_DOUBLE_EQ(policy->gates[0].factor, 0.95);
  EXPECT_EQ(policy->gates[0].baseline_metric, "rmse");
  EXPECT_DOUBLE_EQ(policy->gates[1].constant, 0.8);
  EXPECT_EQ(policy->gates[2].baseline_metric, "loss");
}

TEST(PolicyTest, ErrorsNameTheFileLineAndField) {
  auto unknown = ParsePolicy("gates: []\napprovers: 2\n", "p.yaml");
  EXPECT_THAT(unknown.status().message(), HasSubstr("p.yaml line 2, 'approvers': unknown field"));
  auto bad_gate = ParsePolicy("gates:\n  - auc is high\n", "p.yaml");
  EXPECT_THAT(bad_gate.status().message(), HasSubstr("p.yaml line 1, 'gates': gate 'auc is high'"));
  auto bad_bound = ParseGate("rmse <= 0.9 * staging.rmse");
  EXPECT_THAT(bad_bound.status().message(), HasSubstr("production.<metric>"));
  auto yaml = ParsePolicy("gates: [unclosed\n", "p.yaml");
  EXPECT_THAT(yaml.status().message(), HasSubstr("p.yaml line"));
  EXPECT_EQ(ParsePolicy("approvals: -1\n", "p.yaml").status().code(), StatusCode::kInvalidArgument);
}

// Found by policy_fuzz: a complex (sequence) key threw out of the parser.
TEST(PolicyTest, OddYamlShapesAreErrorsNotExceptions) {
  auto complex_key = ParsePolicy("? - auc >=", "p.yaml");
  EXPECT_THAT(complex_key.status().message(), HasSubstr("p.yaml line 1"));
  for (const char* yaml : {"gates: {a: b}\n", "gates:\n  - [a, b]\n", "stages: [[x]]\n",
                           "approvals: many\n", "- just\n- a list\n"}) {
    EXPECT_EQ(ParsePolicy(yaml, "p.yaml").status().code(), StatusCode::kInvalidArgument) << yaml;
  }
}

TEST(PolicyTest, GatesCompareWithTheIncumbentOrPassWithoutOne) {
  Gate relative = *ParseGate("rmse <= 0.95 * production.rmse");
  std::map<std::string, double> candidate = {{"rmse", 0.41}, {"auc", 0.9}};
  auto worse = Evaluate(relative, candidate, std::map<std::string, double>{{"rmse", 0.40}});
  EXPECT_FALSE(worse.passed);
  EXPECT_EQ(worse.explanation, "rmse 0.41 > 0.95 x production 0.4 = 0.38");
  EXPECT_TRUE(Evaluate(relative, candidate, std::map<std::string, double>{{"rmse", 0.5}}).passed);
  EXPECT_TRUE(Evaluate(relative, candidate, std::nullopt).passed);  // Nothing to beat yet.

  Gate absolute = *ParseGate("auc >= 0.95");
  EXPECT_FALSE(Evaluate(absolute, candidate, std::nullopt).passed);
  auto missing = Evaluate(*ParseGate("f1 > 0.5"), candidate, std::nullopt);
  EXPECT_FALSE(missing.passed);
  EXPECT_THAT(missing.explanation, HasSubstr("no value for 'f1'"));
}

}  // namespace
}  // namespace cairn::governance
