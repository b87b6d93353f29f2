#include "governance/policy.h"

#include "core/fault_injection_env.h"
#include "core/mem_env.h"
#include "status_testing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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
  EXPECT_THAT(ParsePolicy("approvals: -1\n", "p.yaml"),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
}

// Found by policy_fuzz: a complex (sequence) key threw out of the parser.
TEST(PolicyTest, OddYamlShapesAreErrorsNotExceptions) {
  auto complex_key = ParsePolicy("? - auc >=", "p.yaml");
  EXPECT_THAT(complex_key.status().message(), HasSubstr("p.yaml line 1"));
  for (const char* yaml : {"gates: {a: b}\n", "gates:\n  - [a, b]\n", "stages: [[x]]\n",
                           "approvals: many\n", "- just\n- a list\n"}) {
    EXPECT_THAT(ParsePolicy(yaml, "p.yaml"),
                ::cairn::testing::StatusIs(StatusCode::kInvalidArgument))
        << yaml;
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

// Issue 18: `CHAMPION` was not guarded while `champion` was. MLflow keeps
// aliases as given, so every spelling must be guarded.
TEST(PolicyTest, GuardsMatchAliasesAndStagesInAnyCase) {
  auto policy = ParsePolicy("stages: [production]\naliases: [champion]\n", "p.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  for (const char* target : {"alias:champion", "alias:CHAMPION", "alias:Champion",
                             "stage:Production", "stage:PRODUCTION"}) {
    EXPECT_TRUE(policy->Guards(target)) << target;
  }
  EXPECT_FALSE(policy->Guards("alias:champion2"));
  EXPECT_FALSE(policy->Guards("stage:Staging"));
}

TEST(PolicyTest, FingerprintsIgnoreSourceOrderAndCase) {
  auto a =
      ParsePolicy("aliases: [Champion]\ngates: [auc >= 0.8, rmse < 1]\napprovals: 1\n", "a.yaml");
  auto b = ParsePolicy("approvals: 1\ngates: [rmse < 1, auc >= 0.8]\naliases: [champion]\n",
                       "default.yaml");
  auto c = ParsePolicy("approvals: 0\ngates: [rmse < 1, auc >= 0.8]\naliases: [champion]\n",
                       "default.yaml");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->Fingerprint(), b->Fingerprint());
  EXPECT_NE(a->Fingerprint(), c->Fingerprint());
  EXPECT_FALSE(a->Fingerprint().empty());
}

// Policy files are read through Env: the tests keep them in memory and
// inject read failures.
class PolicyFilesTest : public ::testing::Test {
 protected:
  PolicyFilesTest() : files_(&fake_), env_(&files_) {
    EXPECT_TRUE(files_.CreateDirectories(dir_).ok());
  }
  void Write(const std::string& name, const std::string& text) {
    ASSERT_TRUE(files_.WriteFileAtomically(dir_ + "/" + name, text, 0644).ok());
  }
  FakeEnv fake_;
  MemEnv files_;
  FaultInjectionEnv env_;
  const std::string dir_ = "/srv/cairn-data/policies";
};

TEST_F(PolicyFilesTest, NoFileMeansNoPolicy) {
  auto none = LoadPolicy(&env_, dir_, "churn");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());
  auto missing_dir = LoadPolicy(&env_, dir_ + "/absent", "churn");
  ASSERT_TRUE(missing_dir.ok());
  EXPECT_FALSE(missing_dir->has_value());
}

// Issue 18: an unreadable policy counted as none (fail open), and errors
// named the server's absolute path.
TEST_F(PolicyFilesTest, UnreadableOrBrokenFilesFailClosedNamingTheRelativeFile) {
  ASSERT_TRUE(files_.CreateDirectories(dir_ + "/churn.yaml").ok());
  auto folder = LoadPolicy(&env_, dir_, "churn");
  ASSERT_FALSE(folder.ok());
  EXPECT_THAT(folder.status().message(), HasSubstr("churn.yaml: not a regular file (a folder)"));
  EXPECT_THAT(folder.status().message(), ::testing::Not(HasSubstr(dir_)));

  Write("default.yaml", "gates:\n  - auc is great\n");
  auto broken = LoadPolicy(&env_, dir_, "other");
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(), HasSubstr("default.yaml line 1, 'gates'"));
  EXPECT_THAT(broken.status().message(), ::testing::Not(HasSubstr(dir_)));

  Write("default.yaml", "approvals: 1\n");
  auto fixed = LoadPolicy(&env_, dir_, "other");
  ASSERT_TRUE(fixed.ok() && fixed->has_value());
  EXPECT_EQ((*fixed)->source, "default.yaml");

  // A read that fails for another reason (a disk error, permissions)
  // refuses the move too, never counts as "no policy".
  env_.Fail(FaultInjectionEnv::Operation::kRead, dir_ + "/default.yaml",
            Unavailable("Input/output error"));
  auto failed = LoadPolicy(&env_, dir_, "other");
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(failed.status().message(), HasSubstr("default.yaml: Input/output error"));
  EXPECT_THAT(failed.status().message(), ::testing::Not(HasSubstr(dir_)));
}

TEST_F(PolicyFilesTest, CheckPoliciesJudgesEveryFile) {
  Write("good.yaml", "approvals: 1\n");
  Write("bad.yaml", "approvers: 1\n");
  Write("typo.yml", "approvals: 1\n");
  Write("README.md", "not a policy");
  auto checks = CheckPolicies(&env_, dir_);
  ASSERT_TRUE(checks.ok()) << checks.status().ToString();
  ASSERT_EQ(checks->size(), 3u);
  EXPECT_EQ((*checks)[0].file, "bad.yaml");
  EXPECT_THAT((*checks)[0].status.message(), HasSubstr("bad.yaml line 1, 'approvers'"));
  EXPECT_EQ((*checks)[1].file, "good.yaml");
  EXPECT_TRUE((*checks)[1].status.ok());
  EXPECT_EQ((*checks)[2].file, "typo.yml");
  EXPECT_THAT((*checks)[2].status.message(), HasSubstr("never read"));
  EXPECT_THAT(CheckPolicies(&env_, dir_ + "/absent"),
              ::cairn::testing::StatusIs(StatusCode::kNotFound));
  env_.Fail(FaultInjectionEnv::Operation::kList, dir_, Unavailable("cannot list: EIO"));
  EXPECT_THAT(CheckPolicies(&env_, dir_), ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
}

TEST(PolicyTest, TheBaselineIsNamedInExplanations) {
  Gate relative = *ParseGate("rmse <= 0.95 * production.rmse");
  auto worse = Evaluate(relative, {{"rmse", 0.41}}, std::map<std::string, double>{{"rmse", 0.40}},
                        "last promoted");
  EXPECT_EQ(worse.explanation, "rmse 0.41 > 0.95 x last promoted 0.4 = 0.38");
}

}  // namespace
}  // namespace cairn::governance
