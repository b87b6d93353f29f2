// The native evaluator against XGBoost itself: random models trained through
// libxgboost (the same library python3-xgboost wraps), saved as JSON, UBJSON
// and the legacy binary format, must give XGBoost's margins bit for bit, and
// its predictions within 1 ulp after the objective's transform.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/thread_pool.h"
#include "status_testing.h"
#include "trees/model_document.h"
#include "trees/xgboost_reader.h"
#include "xgboost/booster.h"

namespace cairn::trees {
namespace {

using ::cairn::testing::StatusIs;
using ::testing::HasSubstr;

using Params = std::vector<std::pair<std::string, std::string>>;

struct Data {
  std::vector<float> features;
  std::vector<float> labels;
  size_t rows = 0;
  size_t columns = 0;
};

// Labels shaped by the objective: classes, positive counts, or real values.
Data MakeData(size_t rows, size_t columns, int classes, bool positive,
              std::vector<size_t> categorical, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> unit;
  Data d{{}, {}, rows, columns};
  for (size_t r = 0; r < rows; ++r) {
    float signal = 0;
    for (size_t c = 0; c < columns; ++c) {
      bool is_cat = std::find(categorical.begin(), categorical.end(), c) != categorical.end();
      float v = is_cat ? static_cast<float>(rng() % 12) : normal(rng);
      signal +=
          is_cat ? (static_cast<int>(v) % 3 == 0 ? 1.0f : -0.5f) : v * (c % 2 == 0 ? 1.0f : -0.7f);
      if (unit(rng) < 0.1f) v = std::nanf("");
      d.features.push_back(v);
    }
    float label;
    if (classes == 2) {
      label = signal + normal(rng) > 0 ? 1.0f : 0.0f;
    } else if (classes > 2) {
      label = static_cast<float>(static_cast<int>(std::fabs(signal) * 1.7f + unit(rng)) % classes);
    } else if (positive) {
      label = std::exp(0.3f * signal) + unit(rng) * 0.1f;
    } else {
      label = signal + normal(rng) * 0.3f;
    }
    d.labels.push_back(label);
  }
  return d;
}

// Rows to predict: fresh values, missing values, training rows, and for
// categorical features unseen, negative, fractional and huge categories.
std::vector<float> MakeQueries(const Data& train, size_t rows,
                               const std::vector<size_t>& categorical, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::uniform_real_distribution<float> unit;
  std::vector<float> out;
  const float odd_categories[] = {-1.0f, 2.5f, 40.0f, 1e9f, 16777216.0f, 31.0f, 32.0f, 0.0f};
  for (size_t r = 0; r < rows; ++r) {
    if (r % 4 == 0) {  // a training row, so thresholds between seen values are crossed exactly
      size_t from = rng() % train.rows;
      out.insert(out.end(), train.features.begin() + static_cast<ptrdiff_t>(from * train.columns),
                 train.features.begin() + static_cast<ptrdiff_t>((from + 1) * train.columns));
      continue;
    }
    for (size_t c = 0; c < train.columns; ++c) {
      bool is_cat = std::find(categorical.begin(), categorical.end(), c) != categorical.end();
      float v =
          is_cat ? (unit(rng) < 0.2f ? odd_categories[rng() % 8] : static_cast<float>(rng() % 12))
                 : normal(rng);
      if (unit(rng) < 0.15f) v = std::nanf("");
      out.push_back(v);
    }
  }
  return out;
}

uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// Distance in units in the last place between two finite floats of one sign.
int64_t UlpDistance(float a, float b) {
  if (a == b) return 0;
  return std::llabs(static_cast<int64_t>(Bits(a)) - static_cast<int64_t>(Bits(b)));
}

struct Case {
  std::string name;
  Params params;
  int classes = 0;        // 0 regression, 2 binary, >2 multiclass
  bool positive = false;  // labels > 0 (poisson, gamma, tweedie)
  std::vector<size_t> categorical;
  int rounds = 20;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class XGBoostEquivalenceTest : public ::testing::TestWithParam<Case> {};

TEST_P(XGBoostEquivalenceTest, MarginsBitIdenticalInEveryFormat) {
  const Case& c = GetParam();
  constexpr size_t kColumns = 7;
  Data train = MakeData(600, kColumns, c.classes, c.positive, c.categorical, 17);
  Params params = c.params;
  params.emplace_back("nthread", "1");
  params.emplace_back("seed", "3");
  if (!c.categorical.empty()) {
    params.emplace_back("tree_method", "hist");
    params.emplace_back("enable_categorical", "true");
  }
  xgboost::Booster::TrainingSet set{train.features, train.rows, train.columns, train.labels,
                                    c.categorical};
  ASSERT_OK_AND_ASSIGN(auto booster, xgboost::Booster::Train(set, params, c.rounds));

  const size_t kQueries = 300;
  std::vector<float> queries = MakeQueries(train, kQueries, c.categorical, 99);
  ASSERT_OK_AND_ASSIGN(std::vector<float> want_margins,
                       booster->Predict(queries, kQueries, kColumns, true));
  ASSERT_OK_AND_ASSIGN(std::vector<float> want_predictions,
                       booster->Predict(queries, kQueries, kColumns, false));
  if (c.params[0].second !=
      "dart") {  // XGBoost's two paths agree, except on dart weights' rounding
    using Path = xgboost::Booster::Path;
    ASSERT_OK_AND_ASSIGN(auto inplace,
                         booster->Predict(queries, kQueries, kColumns, true, Path::kInplace));
    ASSERT_EQ(inplace, want_margins);
  }

  ASSERT_OK_AND_ASSIGN(std::string json, booster->Save("json"));
  ASSERT_OK_AND_ASSIGN(std::string ubj, booster->Save("ubj"));
  ASSERT_EQ(DetectXGBoostFormat(json), ModelFileFormat::kJson);
  ASSERT_EQ(DetectXGBoostFormat(ubj), ModelFileFormat::kUbjson);
  std::vector<std::pair<std::string, std::string>> files = {{"json", json}, {"ubj", ubj}};
  if (c.categorical.empty()) {  // XGBoost cannot write categorical splits in the legacy format
    ASSERT_OK_AND_ASSIGN(std::string legacy, booster->Save("deprecated"));
    ASSERT_EQ(DetectXGBoostFormat(legacy), ModelFileFormat::kLegacyBinary);
    EXPECT_THAT(ReadXGBoostModel(legacy),
                StatusIs(StatusCode::kUnimplemented, HasSubstr("legacy binary")));
    ASSERT_OK_AND_ASSIGN(std::string converted, xgboost::ConvertToJson(legacy));
    files.emplace_back("legacy via json", converted);
  }

  for (const auto& [format, bytes] : files) {
    SCOPED_TRACE(format);
    ASSERT_OK_AND_ASSIGN(TreeEnsemble model, ReadXGBoostModel(bytes));
    ASSERT_EQ(model.num_features(), static_cast<int>(kColumns));
    const size_t groups = static_cast<size_t>(model.num_groups());
    ASSERT_EQ(want_margins.size(), kQueries * groups);
    std::vector<float> margins(kQueries * groups);
    model.PredictMargins(queries, kQueries, margins);
    size_t mismatches = 0;
    for (size_t i = 0; i < margins.size(); ++i) {
      if (Bits(margins[i]) != Bits(want_margins[i]) && mismatches++ < 5) {
        ADD_FAILURE() << "margin " << i << ": native " << margins[i] << " xgboost "
                      << want_margins[i];
      }
    }
    EXPECT_EQ(mismatches, 0u);

    model.Transform(margins);
    margins.resize(kQueries * static_cast<size_t>(model.OutputsPerRow()));
    ASSERT_EQ(margins.size(), want_predictions.size());
    int64_t worst = 0;
    for (size_t i = 0; i < margins.size(); ++i)
      worst = std::max(worst, UlpDistance(margins[i], want_predictions[i]));
    EXPECT_LE(worst, 1) << "predictions differ by up to " << worst << " ulp";

    // TreeSHAP: XGBoost's pred_contribs, bit for bit.
    ASSERT_TRUE(model.can_explain());
    ASSERT_OK_AND_ASSIGN(std::vector<float> want_contribs,
                         booster->PredictContributions(queries, kQueries, kColumns));
    std::vector<float> contribs(kQueries * groups * (kColumns + 1));
    ASSERT_EQ(want_contribs.size(), contribs.size());
    model.PredictContributions(queries, kQueries, contribs);
    size_t contrib_mismatches = 0;
    for (size_t i = 0; i < contribs.size(); ++i) {
      if (Bits(contribs[i]) != Bits(want_contribs[i]) && contrib_mismatches++ < 5) {
        ADD_FAILURE() << "contribution " << i << " (row " << i / (groups * (kColumns + 1))
                      << "): native " << contribs[i] << " xgboost " << want_contribs[i];
      }
    }
    EXPECT_EQ(contrib_mismatches, 0u);

    // One row at a time gives the same answers as the whole batch.
    std::vector<float> single(groups);
    model.PredictMargins(std::span<const float>(queries).subspan(5 * kColumns, kColumns), 1,
                         single);
    for (size_t g = 0; g < groups; ++g)
      EXPECT_EQ(Bits(single[g]), Bits(want_margins[5 * groups + g]));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Objectives, XGBoostEquivalenceTest,
    ::testing::Values(
        Case{"regression", {{"objective", "reg:squarederror"}, {"max_depth", "6"}}},
        Case{"regression_depthwise_deep",
             {{"objective", "reg:squarederror"}, {"max_depth", "10"}, {"eta", "0.1"}}},
        Case{"binary", {{"objective", "binary:logistic"}, {"max_depth", "4"}}, 2},
        Case{"binary_base_score", {{"objective", "binary:logistic"}, {"base_score", "0.3"}}, 2},
        Case{"logitraw", {{"objective", "binary:logitraw"}}, 2},
        Case{"hinge", {{"objective", "binary:hinge"}}, 2},
        Case{"softprob", {{"objective", "multi:softprob"}, {"num_class", "4"}}, 4},
        Case{"softmax", {{"objective", "multi:softmax"}, {"num_class", "4"}}, 4},
        Case{"poisson", {{"objective", "count:poisson"}}, 0, true},
        Case{"gamma", {{"objective", "reg:gamma"}}, 0, true},
        Case{"tweedie", {{"objective", "reg:tweedie"}}, 0, true},
        Case{"pseudohuber", {{"objective", "reg:pseudohubererror"}}},
        Case{"dart",
             {{"booster", "dart"}, {"objective", "reg:squarederror"}, {"rate_drop", "0.3"}}},
        Case{"dart_binary",
             {{"booster", "dart"}, {"objective", "binary:logistic"}, {"rate_drop", "0.2"}},
             2},
        Case{"random_forest",
             {{"objective", "reg:squarederror"},
              {"num_parallel_tree", "5"},
              {"subsample", "0.8"},
              {"colsample_bynode", "0.8"}},
             0,
             false,
             {},
             3},
        Case{"lossguide",
             {{"objective", "reg:squarederror"},
              {"tree_method", "hist"},
              {"grow_policy", "lossguide"},
              {"max_leaves", "31"},
              {"max_depth", "0"}}},
        Case{"categorical_partition",
             {{"objective", "reg:squarederror"}, {"max_cat_to_onehot", "1"}, {"max_depth", "5"}},
             0,
             false,
             {1, 4}},
        Case{"categorical_onehot",
             {{"objective", "binary:logistic"}, {"max_cat_to_onehot", "64"}},
             2,
             false,
             {2}},
        Case{"categorical_multiclass",
             {{"objective", "multi:softprob"}, {"num_class", "3"}, {"max_cat_to_onehot", "1"}},
             3,
             false,
             {0, 5}}),
    [](const ::testing::TestParamInfo<Case>& param_info) { return param_info.param.name; });

// A model trained once, for the format and validation tests below.
std::string SmallModelJson() {
  Data train = MakeData(200, 3, 0, false, {}, 5);
  xgboost::Booster::TrainingSet set{train.features, train.rows, train.columns, train.labels, {}};
  auto booster = xgboost::Booster::Train(set, {{"max_depth", "3"}, {"nthread", "1"}}, 4);
  EXPECT_TRUE(booster.ok());
  return *(*booster)->Save("json");
}

void ReplaceOnce(std::string* s, const std::string& from, const std::string& to) {
  size_t at = s->find(from);
  ASSERT_NE(at, std::string::npos) << from;
  s->replace(at, from.size(), to);
}

// XGBoost 3.1 writes base_score as a bracketed list, one value per target.
TEST(XGBoostReaderTest, BaseScoreAsListMeansTheSame) {
  std::string json = SmallModelJson();
  ASSERT_OK_AND_ASSIGN(TreeEnsemble plain, ReadXGBoostModel(json));
  size_t at = json.find("\"base_score\":\"");
  ASSERT_NE(at, std::string::npos);
  size_t value = at + std::strlen("\"base_score\":\"");
  size_t end = json.find('"', value);
  std::string score = json.substr(value, end - value);
  std::string listed = json;
  listed.replace(value, end - value, "[" + score + "]");
  ASSERT_OK_AND_ASSIGN(TreeEnsemble from_list, ReadXGBoostModel(listed));
  std::string array = json;
  array.replace(value - 1, end - value + 2, "[" + score + "]");
  ASSERT_OK_AND_ASSIGN(TreeEnsemble from_array, ReadXGBoostModel(array));
  std::vector<float> row = {0.3f, -1.0f, NAN};
  float a = 0, b = 0, c = 0;
  plain.PredictMargins(row, 1, {&a, 1});
  from_list.PredictMargins(row, 1, {&b, 1});
  from_array.PredictMargins(row, 1, {&c, 1});
  EXPECT_EQ(Bits(a), Bits(b));
  EXPECT_EQ(Bits(a), Bits(c));
}

TEST(XGBoostReaderTest, BrokenModelsNameTheField) {
  const std::string good = SmallModelJson();
  struct Breakage {
    std::string from, to, expected;
  };
  const Breakage breakages[] = {
      {"\"left_children\":[", "\"left_children\":[0,", "trees[0].left_children: "},
      {"\"split_indices\":[", "\"split_indices\":[9,", "trees[0].split_indices"},
      {"\"num_feature\":\"3\",\"num_target\"", "\"num_feature\":\"x\",\"num_target\"",
       "learner.learner_model_param.num_feature: 'x'"},
      {"\"objective\":{\"name\":\"reg:squarederror\"", "\"objective\":{\"name\":\"reg:unknown\"",
       "objective 'reg:unknown'"},
      {"\"tree_info\":[0,", "\"tree_info\":[5,", "output group"},
      {"\"learner\"", "\"teacher\"", "learner: missing"},
  };
  for (const Breakage& b : breakages) {
    SCOPED_TRACE(b.to);
    std::string bad = good;
    ReplaceOnce(&bad, b.from, b.to);
    auto result = ReadXGBoostModel(bad);
    ASSERT_FALSE(result.ok());
    EXPECT_THAT(result.status().message(), HasSubstr(b.expected));
  }
}

// Links that loop or share a child are refused: prediction could never end.
TEST(XGBoostReaderTest, CyclicTreeRefused) {
  std::string json = SmallModelJson();
  // Point node 1's left child back at node 1 (an ordinary tree has [1,3,...]).
  ReplaceOnce(&json, "\"left_children\":[1,3", "\"left_children\":[1,1");
  EXPECT_THAT(ReadXGBoostModel(json),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not a fresh node")));
}

TEST(XGBoostReaderTest, GblinearPointsToTheEngine) {
  Data train = MakeData(100, 3, 0, false, {}, 5);
  xgboost::Booster::TrainingSet set{train.features, train.rows, train.columns, train.labels, {}};
  ASSERT_OK_AND_ASSIGN(auto booster, xgboost::Booster::Train(set, {{"booster", "gblinear"}}, 2));
  ASSERT_OK_AND_ASSIGN(std::string json, booster->Save("json"));
  EXPECT_THAT(ReadXGBoostModel(json),
              StatusIs(StatusCode::kUnimplemented, HasSubstr("XGBoost engine")));
}

// A tree deeper than the fixed-step walk allows (a chain: node i sends
// x < i left to a leaf worth i, else on down) is walked node by node, with
// the same answers, in batches and one row at a time.
TEST(TreeEnsembleTest, DeepChainTree) {
  constexpr uint32_t kDepth = 80;
  TreeEnsemble::Parts parts;
  parts.num_features = 1;
  parts.roots = {0};
  parts.groups = {0};
  parts.base_margin = {0.5f};
  parts.nodes.push_back({static_cast<float>(kDepth) + 1.0f, 0, 0});
  uint32_t split = 0;
  for (uint32_t d = 0; d < kDepth; ++d) {
    const auto left = static_cast<uint32_t>(parts.nodes.size());
    parts.nodes.push_back({static_cast<float>(d), 0, 0});  // a leaf worth d
    parts.nodes.push_back(
        {static_cast<float>(kDepth) + 1.0f, 0, 0});  // the next split, or the last leaf
    const uint32_t flags = d % 2 == 1 ? TreeEnsemble::kDefaultLeft : 0u;
    parts.nodes[split] = {static_cast<float>(d), flags, left};
    split = left + 1;
  }
  TreeEnsemble model(std::move(parts));
  std::vector<float> rows;
  std::vector<float> want;
  for (int i = 0; i < 37; ++i) {
    float x = static_cast<float>(i % 90) * 0.9f;
    rows.push_back(x);
    // The first split d with x < d; past every split, the last leaf.
    float leaf = static_cast<float>(kDepth) + 1.0f;
    for (uint32_t d = 0; d < kDepth; ++d) {
      if (x < static_cast<float>(d)) {
        leaf = static_cast<float>(d);
        break;
      }
    }
    want.push_back(0.5f + leaf);
  }
  rows.push_back(NAN);  // root's default is right, node 1's is left: the leaf worth 1
  want.push_back(0.5f + 1.0f);
  std::vector<float> margins(rows.size());
  model.PredictMargins(rows, rows.size(), margins);
  EXPECT_EQ(margins, want);
  float one = 0;
  model.PredictMargins({rows.data() + 3, 1}, 1, {&one, 1});
  EXPECT_EQ(one, want[3]);
}

TEST(ModelDocumentTest, UbjsonLimits) {
  // An array claiming more elements than bytes left.
  std::string huge = std::string("[#L") + std::string("\x00\x00\x00\x00\x7f\xff\xff\xff", 8) + "i";
  EXPECT_THAT(ParseUbjsonModel(huge), StatusIs(StatusCode::kInvalidArgument, HasSubstr("exceeds")));
  // A string length counted against the bytes left after the length itself
  // (found by xgboost_model_fuzz: the bytes before it were counted too).
  EXPECT_THAT(ParseUbjsonModel(std::string("SL\x00\x00\x00\x00\x00\x00\x00\x05", 10) + "ab"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("exceeds")));
  EXPECT_THAT(ParseUbjsonModel(std::string("[{L\x00\x00\x00\x00\x00\x00\x00\x03", 11) + "ab"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("exceeds")));
  // A typed array of zero-byte elements would cost nothing per element.
  EXPECT_THAT(ParseUbjsonModel("[$Z#L\x00\x00\x00\x00\x10\x00\x00\x00"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not supported")));
  // Nesting beyond the limit.
  EXPECT_THAT(ParseUbjsonModel(std::string(200, '[')),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("nesting")));
  EXPECT_THAT(ParseJsonModel(std::string(200, '[')),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("nesting")));
  // Truncated data.
  EXPECT_THAT(ParseUbjsonModel("{L"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("end of data")));
}

TEST(ModelDocumentTest, JsonNumbersRoundOnceToFloat) {
  // 0.1 read straight to float is 0x3dcccccd; every float's shortest text reads back exactly.
  ASSERT_OK_AND_ASSIGN(ModelValue v,
                       ParseJsonModel("[0.1, 16777217, 3.4028235e38, 1e39, NaN, -Infinity]"));
  ASSERT_EQ(v.kind(), ModelValue::Kind::kNumberArray);
  EXPECT_EQ(Bits(v.numbers()[0].as_float), 0x3dcccccdu);
  EXPECT_EQ(v.numbers()[1].as_float, 16777216.0f);
  EXPECT_EQ(v.numbers()[2].as_float, 3.4028235e38f);
  EXPECT_TRUE(std::isinf(v.numbers()[3].as_float));
  EXPECT_TRUE(std::isnan(v.numbers()[4].as_float));
  EXPECT_EQ(v.numbers()[5].as_float, -INFINITY);
}

}  // namespace
}  // namespace cairn::trees
