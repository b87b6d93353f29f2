// MLflow's scoring request forms decode into the same columns; responses
// print float32 predictions as MLflow's server does (numpy's tolist).
#include "scoring/scoring_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "status_testing.h"

namespace cairn::scoring {
namespace {

using ::cairn::testing::StatusIs;
using serving::DataType;
using ::testing::HasSubstr;

// Column `name` of `request` as doubles (NaN for missing).
std::vector<double> Column(const ScoringRequest& request, const std::string& name) {
  for (const serving::Tensor& t : request.inputs) {
    if (t.name != name) continue;
    std::vector<double> out;
    for (size_t i = 0; i < t.Size(); ++i) {
      double d;
      std::memcpy(&d, t.data.data() + i * 8, 8);
      out.push_back(d);
    }
    return out;
  }
  return {};
}

TEST(ScoringJsonTest, EveryFormEncodesTheSameFrame) {
  const char* bodies[] = {
      R"({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5], [null, 4]]}})",
      R"({"dataframe_records": [{"a": 1, "b": 2.5}, {"b": 4}]})",
      R"({"instances": [{"a": 1, "b": 2.5}, {"a": null, "b": 4}]})",
      R"({"inputs": {"a": [1, null], "b": [2.5, 4]}, "params": {"k": 1}})",
  };
  for (const char* body : bodies) {
    SCOPED_TRACE(body);
    ASSERT_OK_AND_ASSIGN(ScoringRequest r, ParseScoringJson(body));
    ASSERT_EQ(r.inputs.size(), 2u);
    std::vector<double> a = Column(r, "a");
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0], 1.0);
    EXPECT_TRUE(std::isnan(a[1]));
    EXPECT_EQ(Column(r, "b"), (std::vector<double>{2.5, 4}));
  }
  ASSERT_OK_AND_ASSIGN(ScoringRequest with_params, ParseScoringJson(bodies[3]));
  EXPECT_EQ(with_params.params_json, R"({"k":1})");
  ASSERT_OK_AND_ASSIGN(ScoringRequest csv, ParseScoringCsv("a,b\n1,2.5\n,4\n"));
  EXPECT_EQ(Column(csv, "b"), (std::vector<double>{2.5, 4}));
  EXPECT_TRUE(std::isnan(Column(csv, "a")[1]));
}

TEST(ScoringJsonTest, UnnamedRowsAreOneMatrix) {
  ASSERT_OK_AND_ASSIGN(ScoringRequest r, ParseScoringJson(R"({"inputs": [[1, 2, 3], [4, 5, 6]]})"));
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_EQ(r.inputs[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_THAT(ParseScoringJson(R"({"inputs": [[1, 2, 3], [4, 5]]})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("row 1 has 2 values")));
}

TEST(ScoringJsonTest, MlflowsMessages) {
  EXPECT_THAT(
      ParseScoringJson(R"({"data": [[1]]})"),
      StatusIs(
          StatusCode::kInvalidArgument,
          HasSubstr("exactly one of the input fields {'dataframe_split', 'dataframe_records', "
                    "'instances', 'inputs'}. Received dictionary with input fields: ['data']")));
  EXPECT_THAT(ParseScoringJson(R"({"inputs": [[1]], "instances": [[1]]})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("['inputs', 'instances']")));
  EXPECT_THAT(ParseScoringJson("[1, 2]"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("Received a list")));
  EXPECT_THAT(ParseScoringJson("{"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("valid JSON")));
  EXPECT_THAT(
      ParseScoringJson(R"({"dataframe_records": [{"a": "x"}, {"a": 1}]})"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("Incompatible input types for column a")));
  EXPECT_THAT(ParseScoringCsv("a,b\n1\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("row 1 has 1 fields")));
}

TEST(ScoringJsonTest, PredictionsAsMlflowPrintsThem) {
  std::vector<float> values = {0.4824923f, 1.0f, 2.5f};
  EXPECT_EQ(WritePredictions({serving::Fp32Tensor("predict", {3}, values)}),
            R"({"predictions":[0.4824922978878021,1,2.5]})");
  EXPECT_EQ(WritePredictions({serving::Fp32Tensor("predict", {2, 2}, {0.25f, 0.75f, 0.5f, 0.5f})}),
            R"({"predictions":[[0.25,0.75],[0.5,0.5]]})");
}

}  // namespace
}  // namespace cairn::scoring
