#include "search/search_filter.h"
#include "status_testing.h"

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cairn::search {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The single clause of `filter` under the run rules; fails the test otherwise.
FilterClause One(std::string_view filter) {
  auto parsed = ParseSearchFilter(filter, RunSearchRules());
  EXPECT_TRUE(parsed.ok()) << filter << ": " << parsed.status().ToString();
  if (!parsed.ok()) return {};
  EXPECT_EQ(parsed->size(), 1u) << filter;
  return parsed->empty() ? FilterClause{} : parsed->front();
}

// The message of the InvalidArgument that `filter` must produce.
std::string FilterError(std::string_view filter,
                        const SearchEntityRules& rules = RunSearchRules()) {
  auto parsed = ParseSearchFilter(filter, rules);
  EXPECT_FALSE(parsed.ok()) << filter << " parsed";
  if (parsed.ok()) return "";
  EXPECT_THAT(parsed, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument)) << filter;
  return parsed.status().message();
}

OrderByClause Order(std::string_view clause, const SearchEntityRules& rules = RunSearchRules()) {
  auto parsed = ParseOrderBy(clause, rules);
  EXPECT_TRUE(parsed.ok()) << clause << ": " << parsed.status().ToString();
  return parsed.ok() ? *parsed : OrderByClause{};
}

std::string OrderError(std::string_view clause, const SearchEntityRules& rules = RunSearchRules()) {
  auto parsed = ParseOrderBy(clause, rules);
  EXPECT_FALSE(parsed.ok()) << clause << " parsed";
  if (parsed.ok()) return "";
  EXPECT_THAT(parsed, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument)) << clause;
  return parsed.status().message();
}

FilterClause Numeric(KeyType type, std::string key, Comparator op, double number) {
  FilterClause c;
  c.type = type;
  c.key = std::move(key);
  c.op = op;
  c.is_numeric = true;
  c.number = number;
  return c;
}

FilterClause Text(KeyType type, std::string key, Comparator op, std::string text) {
  FilterClause c;
  c.type = type;
  c.key = std::move(key);
  c.op = op;
  c.text = std::move(text);
  return c;
}

FilterClause List(KeyType type, std::string key, Comparator op, std::vector<std::string> list) {
  FilterClause c;
  c.type = type;
  c.key = std::move(key);
  c.op = op;
  c.list = std::move(list);
  return c;
}

constexpr std::string_view kRunEntityTypes =
    "Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']";

// --- Empty filters --------------------------------------------------------

TEST(SearchFilterTest, EmptyAndBlankFiltersHaveNoClauses) {
  for (std::string_view filter : {"", " ", "\t\n  \r"}) {
    auto parsed = ParseSearchFilter(filter, RunSearchRules());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_TRUE(parsed->empty());
  }
}

// --- Prefixes -------------------------------------------------------------

TEST(SearchFilterTest, EveryPrefixAlias) {
  for (std::string_view prefix : {"metric", "metrics"}) {
    EXPECT_EQ(One(std::string(prefix) + ".acc > 0.5"),
              Numeric(KeyType::kMetric, "acc", Comparator::kGt, 0.5));
  }
  for (std::string_view prefix : {"parameter", "parameters", "param", "params"}) {
    EXPECT_EQ(One(std::string(prefix) + ".lr = '0.1'"),
              Text(KeyType::kParam, "lr", Comparator::kEq, "0.1"));
  }
  for (std::string_view prefix : {"tag", "tags"}) {
    EXPECT_EQ(One(std::string(prefix) + ".team = 'ml'"),
              Text(KeyType::kTag, "team", Comparator::kEq, "ml"));
  }
  for (std::string_view prefix : {"attribute", "attributes", "attr", "run"}) {
    EXPECT_EQ(One(std::string(prefix) + ".status = 'FINISHED'"),
              Text(KeyType::kAttribute, "status", Comparator::kEq, "FINISHED"));
  }
  for (std::string_view prefix : {"dataset", "datasets"}) {
    EXPECT_EQ(One(std::string(prefix) + ".name = 'iris'"),
              Text(KeyType::kDataset, "name", Comparator::kEq, "iris"));
  }
}

TEST(SearchFilterTest, NoPrefixMeansAttribute) {
  EXPECT_EQ(One("status = 'RUNNING'"),
            Text(KeyType::kAttribute, "status", Comparator::kEq, "RUNNING"));
}

TEST(SearchFilterTest, BacktickedPrefix) {
  EXPECT_EQ(One("`metrics`.x > 1"), Numeric(KeyType::kMetric, "x", Comparator::kGt, 1));
}

TEST(SearchFilterTest, PrefixesAreCaseSensitiveAsInMlflow) {
  EXPECT_EQ(FilterError("METRICS.x > 1"),
            "Invalid entity type 'METRICS'. " + std::string(kRunEntityTypes));
  EXPECT_EQ(FilterError("Params.x = 'a'"),
            "Invalid entity type 'Params'. " + std::string(kRunEntityTypes));
}

TEST(SearchFilterTest, UnknownPrefixIsNamed) {
  EXPECT_EQ(FilterError("foo.bar = 'x'"),
            "Invalid entity type 'foo'. " + std::string(kRunEntityTypes));
  // MLflow strips backticks from the prefix but not double quotes.
  EXPECT_EQ(FilterError("\"metrics\".x > 1"),
            "Invalid entity type '\"metrics\"'. " + std::string(kRunEntityTypes));
}

// --- Keys -----------------------------------------------------------------

TEST(SearchFilterTest, QuotedKeys) {
  EXPECT_EQ(One("metrics.`my key` > 1").key, "my key");
  EXPECT_EQ(One("metrics.\"my key\" > 1").key, "my key");
  EXPECT_EQ(One("metrics.`loss/val-1:x` < 2").key, "loss/val-1:x");
  EXPECT_EQ(One("params.`a.b` = 'x'").key, "a.b");
}

TEST(SearchFilterTest, KeysWithDots) {
  EXPECT_EQ(One("tags.mlflow.runName = 'x'"),
            Text(KeyType::kTag, "mlflow.runName", Comparator::kEq, "x"));
  EXPECT_EQ(One("tags.`mlflow.runName` = 'x'").key, "mlflow.runName");
  EXPECT_EQ(One("tags.\"mlflow.runName\" = 'x'").key, "mlflow.runName");
  EXPECT_EQ(One("metrics.a.b.c > 1").key, "a.b.c");
}

TEST(SearchFilterTest, UnusualButValidKeys) {
  EXPECT_EQ(One("metrics.1x > 1").key, "1x");
  EXPECT_EQ(One("metrics.x_1 > 1").key, "x_1");
  EXPECT_EQ(One("metrics.über > 1").key, "über");
  // Keywords are plain keys after a prefix.
  EXPECT_EQ(One("params.select = 'a'").key, "select");
  EXPECT_EQ(One("params.and = 'a'").key, "and");
  EXPECT_EQ(One("params.or = 'a'").key, "or");
  EXPECT_EQ(One("params.in = 'a'").key, "in");
}

TEST(SearchFilterTest, SpecialCharactersInUnquotedKeysAreNamed) {
  std::string error = FilterError("metrics.my-key > 1");
  EXPECT_THAT(error, StartsWith("Invalid clause(s) in filter string: '-'"));
  EXPECT_THAT(error, HasSubstr("backticks"));
  EXPECT_THAT(FilterError("metrics.loss/val > 1"),
              StartsWith("Invalid clause(s) in filter string: '/'"));
  EXPECT_THAT(FilterError("metrics.a:b > 1"),
              StartsWith("Invalid clause(s) in filter string: ':'"));
  EXPECT_THAT(FilterError("metrics.x$ > 1"), StartsWith("Invalid clause(s) in filter string: '$'"));
}

TEST(SearchFilterTest, MissingKeyIsNamed) {
  constexpr std::string_view kHint =
      ". Columns should be specified as 'attribute.<key>', 'metric.<key>', 'tag.<key>', "
      "'dataset.<key>', or 'param.'.";
  EXPECT_EQ(FilterError("metrics. > 1"), "Invalid identifier 'metrics.'" + std::string(kHint));
  EXPECT_EQ(FilterError("metrics. x > 1"), "Invalid identifier 'metrics.'" + std::string(kHint));
  EXPECT_EQ(FilterError("metrics.'x' > 1"), "Invalid identifier 'metrics.'" + std::string(kHint));
  EXPECT_EQ(FilterError("metrics.`` > 1"), "Invalid identifier 'metrics.``'" + std::string(kHint));
  EXPECT_EQ(FilterError("metrics.a. > 1"), "Invalid identifier 'metrics.a.'" + std::string(kHint));
}

TEST(SearchFilterTest, UnterminatedQuotesAreNamed) {
  EXPECT_EQ(FilterError("metrics.`x > 1"),
            "Invalid clause(s) in filter string: '`x > 1' (unterminated quote)");
  EXPECT_EQ(FilterError("params.p = 'abc"),
            "Invalid clause(s) in filter string: ''abc' (unterminated quote)");
  EXPECT_EQ(FilterError("params.p = \"abc"),
            "Invalid clause(s) in filter string: '\"abc' (unterminated quote)");
}

// --- Attributes ----------------------------------------------------------

TEST(SearchFilterTest, EveryRunAttribute) {
  for (std::string_view key : {"run_id", "run_name", "status", "user_id", "artifact_uri"}) {
    EXPECT_EQ(One(std::string(key) + " = 'v'"),
              Text(KeyType::kAttribute, std::string(key), Comparator::kEq, "v"));
  }
  for (std::string_view key : {"start_time", "end_time"}) {
    EXPECT_EQ(One(std::string(key) + " >= 1700000000000"),
              Numeric(KeyType::kAttribute, std::string(key), Comparator::kGe, 1700000000000.0));
  }
}

TEST(SearchFilterTest, AttributeAliasesAreCanonicalised) {
  EXPECT_EQ(One("created > 5"), Numeric(KeyType::kAttribute, "start_time", Comparator::kGt, 5));
  EXPECT_EQ(One("Created > 5"), Numeric(KeyType::kAttribute, "start_time", Comparator::kGt, 5));
  EXPECT_EQ(One("attributes.created < 5").key, "start_time");
  for (std::string_view alias : {"`run name`", "`Run name`", "`Run Name`", "\"Run Name\""}) {
    EXPECT_EQ(One(std::string(alias) + " = 'x'"),
              Text(KeyType::kAttribute, "run_name", Comparator::kEq, "x"));
  }
  EXPECT_EQ(One("attributes.`run name` LIKE 'x%'").key, "run_name");
  EXPECT_EQ(One("`status` = 'x'").key, "status");
}

TEST(SearchFilterTest, UnknownAttributeIsNamed) {
  constexpr std::string_view kValid =
      " specified. Valid keys are '{'run_id', 'run_name', 'status', 'user_id', 'artifact_uri', "
      "'start_time', 'end_time', 'run name', 'Run name', 'Run Name', 'created', 'Created'}'";
  EXPECT_EQ(FilterError("experiment_id = '1'"),
            "Invalid attribute key 'experiment_id'" + std::string(kValid));
  EXPECT_EQ(FilterError("attributes.lifecycle_stage = 'active'"),
            "Invalid attribute key 'lifecycle_stage'" + std::string(kValid));
  // Attribute keys are case-sensitive, as in MLflow.
  EXPECT_THAT(FilterError("RUN_ID = 'a'"), StartsWith("Invalid attribute key 'RUN_ID'"));
  EXPECT_THAT(FilterError("`run Name` = 'a'"), StartsWith("Invalid attribute key 'run Name'"));
}

TEST(SearchFilterTest, NumericAttributeComparators) {
  const std::pair<std::string_view, Comparator> cases[] = {
      {"=", Comparator::kEq},  {"!=", Comparator::kNe}, {"<", Comparator::kLt},
      {"<=", Comparator::kLe}, {">", Comparator::kGt},  {">=", Comparator::kGe}};
  for (const auto& [text, op] : cases) {
    EXPECT_EQ(One("end_time " + std::string(text) + " 10"),
              Numeric(KeyType::kAttribute, "end_time", op, 10));
  }
  EXPECT_EQ(FilterError("start_time LIKE 1"),
            "Invalid comparator 'LIKE' not one of '{'>', '>=', '!=', '=', '<', '<='}'");
  EXPECT_EQ(FilterError("start_time IN (1)"),
            "Expected numeric value type for numeric attribute: start_time. Found (1)");
}

TEST(SearchFilterTest, NumericAttributeNeedsNumber) {
  EXPECT_EQ(FilterError("start_time = 'x'"),
            "Expected numeric value type for numeric attribute: start_time. Found 'x'");
  // The key is named as written.
  EXPECT_EQ(FilterError("created > yesterday"),
            "Expected numeric value type for numeric attribute: created. Found yesterday");
}

TEST(SearchFilterTest, StringAttributeComparators) {
  const std::pair<std::string_view, Comparator> cases[] = {
      {"=", Comparator::kEq},      {"!=", Comparator::kNe},       {"LIKE", Comparator::kLike},
      {"like", Comparator::kLike}, {"ILIKE", Comparator::kILike}, {"iLike", Comparator::kILike}};
  for (const auto& [text, op] : cases) {
    EXPECT_EQ(One("user_id " + std::string(text) + " 'bob'"),
              Text(KeyType::kAttribute, "user_id", op, "bob"));
  }
  EXPECT_EQ(FilterError("status > 'a'"),
            "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'");
  EXPECT_EQ(FilterError("run_id < 'a'"),
            "Invalid comparator '<' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}'");
}

TEST(SearchFilterTest, StringAttributeNeedsQuotedString) {
  EXPECT_EQ(FilterError("status = 1"),
            "Expected a quoted string value for attributes. Got value 1");
  EXPECT_EQ(FilterError("status = FINISHED"),
            "Parameter value is either not quoted or unidentified quote types used for string "
            "value FINISHED. Use either single or double quotes.");
  EXPECT_EQ(One("status = \"FINISHED\"").text, "FINISHED");
}

TEST(SearchFilterTest, RunIdInList) {
  EXPECT_EQ(One("run_id IN ('a', 'b')"),
            List(KeyType::kAttribute, "run_id", Comparator::kIn, {"a", "b"}));
  EXPECT_EQ(One("attributes.run_id in ('a')"),
            List(KeyType::kAttribute, "run_id", Comparator::kIn, {"a"}));
  EXPECT_EQ(One("run_id NOT IN ('a','B')"),
            List(KeyType::kAttribute, "run_id", Comparator::kNotIn, {"a", "B"}));
  EXPECT_EQ(One("run_id not\tin\n(\"a\" , 'b' ,)"),
            List(KeyType::kAttribute, "run_id", Comparator::kNotIn, {"a", "b"}));
  EXPECT_EQ(One("run_id IN ('')").list, std::vector<std::string>{""});
}

TEST(SearchFilterTest, ListErrorsNameTheList) {
  EXPECT_EQ(FilterError("run_id IN ()"),
            "While parsing a list in the query, expected a non-empty list of string values, but "
            "got empty list");
  EXPECT_EQ(FilterError("run_id IN ('a' 'b')"),
            "While parsing a list in the query, expected a non-empty list of string values, but "
            "got ill-formed list: ('a' 'b')");
  EXPECT_EQ(FilterError("run_id IN ('a',,'b')"),
            "While parsing a list in the query, expected a non-empty list of string values, but "
            "got ill-formed list: ('a',,'b')");
  EXPECT_EQ(FilterError("run_id IN (,)"),
            "While parsing a list in the query, expected a non-empty list of string values, but "
            "got ill-formed list: (,)");
  EXPECT_EQ(FilterError("run_id IN ('a', 1)"),
            "While parsing a list in the query, expected string value, punctuation, or "
            "whitespace, but got different type in list: ('a', 1)");
  EXPECT_EQ(FilterError("run_id IN (a, b)"),
            "While parsing a list in the query, expected string value, punctuation, or "
            "whitespace, but got different type in list: (a, b)");
  EXPECT_EQ(FilterError("run_id IN (('a'))"),
            "While parsing a list in the query, expected string value, punctuation, or "
            "whitespace, but got different type in list: (('a')");
  EXPECT_EQ(FilterError("run_id IN ('a', 'b'"),
            "Invalid clause(s) in filter string: '('a', 'b'' (missing closing parenthesis)");
}

TEST(SearchFilterTest, OnlyRunIdTakesAList) {
  EXPECT_EQ(FilterError("status IN ('FINISHED')"),
            "Only the 'run_id' attribute supports comparison with a list of quoted string values "
            "(got 'status').");
  EXPECT_EQ(FilterError("run_name NOT IN ('a')"),
            "Only the 'run_id' attribute supports comparison with a list of quoted string values "
            "(got 'run_name').");
  // MLflow accepts IN with a single string here, then fails in SQL.
  EXPECT_EQ(FilterError("status IN 'FINISHED'"),
            "Only the 'run_id' attribute supports comparison with a list of quoted string values "
            "(got 'status').");
}

TEST(SearchFilterTest, ListComparatorsAndListValuesGoTogether) {
  EXPECT_EQ(FilterError("run_id IN 'a'"),
            "Invalid comparison clause. Comparator 'IN' expects a parenthesised list of quoted "
            "strings, e.g. ('a', 'b'). Got value 'a'");
  EXPECT_THAT(FilterError("run_id NOT IN \"a\""), HasSubstr("'NOT IN'"));
  EXPECT_EQ(FilterError("run_id = ('a')"),
            "Invalid comparator '=' for the list ('a'). Use IN or NOT IN");
}

// --- Metrics -------------------------------------------------------------

TEST(SearchFilterTest, MetricComparators) {
  const std::pair<std::string_view, Comparator> cases[] = {
      {"=", Comparator::kEq},  {"!=", Comparator::kNe}, {"<", Comparator::kLt},
      {"<=", Comparator::kLe}, {">", Comparator::kGt},  {">=", Comparator::kGe}};
  for (const auto& [text, op] : cases) {
    EXPECT_EQ(One("metrics.m " + std::string(text) + " 3"), Numeric(KeyType::kMetric, "m", op, 3));
    EXPECT_EQ(One("metrics.m" + std::string(text) + "3"), Numeric(KeyType::kMetric, "m", op, 3));
  }
  for (std::string_view op : {"LIKE", "ILIKE"}) {
    EXPECT_EQ(FilterError("metrics.m " + std::string(op) + " 1"),
              "Invalid comparator '" + std::string(op) +
                  "' not one of '{'>', '>=', '!=', '=', '<', '<='}'");
  }
  EXPECT_EQ(FilterError("metrics.m <> 1"),
            "Invalid comparator '<>' not one of '{'>', '>=', '!=', '=', '<', '<='}'");
  EXPECT_THAT(FilterError("metrics.m == 1"), StartsWith("Invalid comparator '==' not one of"));
  EXPECT_EQ(FilterError("metrics.m IN (1, 2)"),
            "Expected numeric value type for metric. Found (1, 2)");
  EXPECT_EQ(FilterError("metrics.m ! 1"), "Invalid clause(s) in filter string: '!'");
}

TEST(SearchFilterTest, NumbersInAllForms) {
  const std::pair<std::string_view, double> cases[] = {{"1", 1},
                                                       {"-1", -1},
                                                       {"0", 0},
                                                       {"007", 7},
                                                       {"1.5", 1.5},
                                                       {"-0.25", -0.25},
                                                       {".5", 0.5},
                                                       {"-.5", -0.5},
                                                       {"1.", 1},
                                                       {"1e3", 1000},
                                                       {"1E3", 1000},
                                                       {"1e-3", 0.001},
                                                       {"1.5e+3", 1500},
                                                       {"-2.5E-2", -0.025},
                                                       {"1.e2", 100},
                                                       {".5e1", 5},
                                                       {"123456789012345", 123456789012345.0}};
  for (const auto& [text, value] : cases) {
    EXPECT_EQ(One("metrics.m > " + std::string(text)),
              Numeric(KeyType::kMetric, "m", Comparator::kGt, value))
        << text;
  }
}

TEST(SearchFilterTest, OutOfRangeNumbersSaturateLikePython) {
  EXPECT_EQ(One("metrics.m < 1e400").number, std::numeric_limits<double>::infinity());
  EXPECT_EQ(One("metrics.m > -1e400").number, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(One("metrics.m > 1e-400").number, 0.0);
  EXPECT_EQ(One("metrics.m > 0.0000e999999999999999999").number, 0.0);
  EXPECT_EQ(One("metrics.m > 1e-310").number, 1e-310);  // Subnormal, in range.
}

TEST(SearchFilterTest, MetricNeedsNumber) {
  EXPECT_EQ(FilterError("metrics.m > 'a'"), "Expected numeric value type for metric. Found 'a'");
  EXPECT_EQ(FilterError("metrics.m > \"1\""),
            "Expected numeric value type for metric. Found \"1\"");
  EXPECT_EQ(FilterError("metrics.m > inf"), "Expected numeric value type for metric. Found inf");
  EXPECT_EQ(FilterError("metrics.m > 1abc"), "Expected numeric value type for metric. Found 1abc");
  EXPECT_EQ(FilterError("metrics.m > 1_000"),
            "Expected numeric value type for metric. Found 1_000");
  EXPECT_EQ(FilterError("metrics.m > metrics.n"),
            "Expected numeric value type for metric. Found metrics.n");
  // As in MLflow, "1AND" is one token: a space is needed before AND.
  EXPECT_EQ(FilterError("metrics.m>1AND metrics.n<2"),
            "Expected numeric value type for metric. Found 1AND");
  EXPECT_EQ(FilterError("metrics.m > - 1"), "Invalid clause(s) in filter string: '-'");
  EXPECT_EQ(FilterError("metrics.m > +1"), "Invalid clause(s) in filter string: '+'");
}

// --- Params and tags -----------------------------------------------------

TEST(SearchFilterTest, ParamAndTagComparators) {
  const std::pair<std::string_view, Comparator> cases[] = {
      {"=", Comparator::kEq},      {"!=", Comparator::kNe},       {"LIKE", Comparator::kLike},
      {"like", Comparator::kLike}, {"ILIKE", Comparator::kILike}, {"ilike", Comparator::kILike}};
  for (const auto& [text, op] : cases) {
    EXPECT_EQ(One("params.p " + std::string(text) + " 'a%'"), Text(KeyType::kParam, "p", op, "a%"));
    EXPECT_EQ(One("tags.t " + std::string(text) + " \"b_\""), Text(KeyType::kTag, "t", op, "b_"));
  }
  for (std::string_view op : {">", ">=", "<", "<="}) {
    EXPECT_EQ(
        FilterError("params.p " + std::string(op) + " 'a'"),
        "Invalid comparator '" + std::string(op) + "' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'");
    EXPECT_THAT(FilterError("tags.t " + std::string(op) + " 'a'"),
                StartsWith("Invalid comparator '" + std::string(op) + "'"));
  }
  EXPECT_EQ(FilterError("params.p IN ('a')"),
            "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('a')");
  EXPECT_EQ(FilterError("tags.t NOT IN ('a')"),
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('a')");
}

TEST(SearchFilterTest, UnsupportedComparatorWordsAreNamed) {
  EXPECT_EQ(FilterError("params.p RLIKE 'a'"),
            "Invalid comparator 'RLIKE' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'");
  EXPECT_EQ(FilterError("params.p NOT LIKE 'a'"),
            "Invalid comparator 'NOT LIKE' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'");
  EXPECT_THAT(FilterError("params.p IS NULL"), StartsWith("Invalid comparator 'IS' not one of"));
  EXPECT_THAT(FilterError("metrics.m BETWEEN 1 AND 2"),
              StartsWith("Invalid comparator 'BETWEEN' not one of"));
}

TEST(SearchFilterTest, ParamAndTagNeedQuotedString) {
  EXPECT_EQ(FilterError("params.p = 1"),
            "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 1");
  EXPECT_EQ(FilterError("tags.t = 1.5"),
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1.5");
  EXPECT_EQ(FilterError("params.p = a"),
            "Parameter value is either not quoted or unidentified quote types used for string "
            "value a. Use either single or double quotes.");
  EXPECT_EQ(FilterError("params.p = `a`"),
            "Parameter value is either not quoted or unidentified quote types used for string "
            "value `a`. Use either single or double quotes.");
}

TEST(SearchFilterTest, StringValuesAreTakenVerbatimAsInMlflow) {
  EXPECT_EQ(One("params.p = ''").text, "");
  EXPECT_EQ(One("params.p = 'a b  c'").text, "a b  c");
  EXPECT_EQ(One("params.p = \"it's\"").text, "it's");
  EXPECT_EQ(One("params.p = 'say \"hi\"'").text, "say \"hi\"");
  // Neither doubled quotes nor backslashes are unescaped (MLflow trims the
  // outer quotes only), but they do not end the string.
  EXPECT_EQ(One("params.p = 'it''s'").text, "it''s");
  EXPECT_EQ(One("params.p = 'a\\'b'").text, "a\\'b");
  EXPECT_EQ(One("params.p = \"a\"\"b\"").text, "a\"\"b");
  EXPECT_EQ(One("params.p = 'C:\\'").text, "C:\\");
  EXPECT_EQ(One("params.p = 'AND OR metrics.x > 1'").text, "AND OR metrics.x > 1");
  EXPECT_EQ(One("params.p = '日本'").text, "日本");
}

// --- Datasets ------------------------------------------------------------

TEST(SearchFilterTest, DatasetKeysAndComparators) {
  for (std::string_view key : {"name", "digest", "context"}) {
    const std::pair<std::string_view, Comparator> cases[] = {{"=", Comparator::kEq},
                                                             {"!=", Comparator::kNe},
                                                             {"LIKE", Comparator::kLike},
                                                             {"ILIKE", Comparator::kILike}};
    for (const auto& [text, op] : cases) {
      EXPECT_EQ(One("datasets." + std::string(key) + " " + std::string(text) + " 'v'"),
                Text(KeyType::kDataset, std::string(key), op, "v"));
    }
    // Unlike MLflow, which drops list items that are not all lower case.
    EXPECT_EQ(One("dataset." + std::string(key) + " IN ('MyData', 'b')"),
              List(KeyType::kDataset, std::string(key), Comparator::kIn, {"MyData", "b"}));
    EXPECT_EQ(One("dataset." + std::string(key) + " NOT IN ('a')"),
              List(KeyType::kDataset, std::string(key), Comparator::kNotIn, {"a"}));
  }
}

TEST(SearchFilterTest, DatasetErrorsAreNamed) {
  EXPECT_EQ(FilterError("dataset.foo = 'x'"),
            "Invalid dataset key 'foo' specified. Valid keys are '{'name', 'digest', 'context'}'");
  EXPECT_EQ(FilterError("datasets.name = 1"),
            "Expected a quoted string value for dataset attributes. Got value 1");
  EXPECT_EQ(FilterError("datasets.name > 'x'"),
            "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}'");
  EXPECT_THAT(FilterError("datasets.name = iris"),
              StartsWith("Parameter value is either not quoted"));
}

// --- AND, OR and structure ------------------------------------------------

TEST(SearchFilterTest, AndIsCaseInsensitive) {
  for (std::string_view conj : {"AND", "and", "And", "aNd"}) {
    auto parsed = ParseSearchFilter("metrics.a > 1 " + std::string(conj) + " params.b = 'x' " +
                                        std::string(conj) + " tags.c != 'y'",
                                    RunSearchRules());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_THAT(*parsed, ElementsAre(Numeric(KeyType::kMetric, "a", Comparator::kGt, 1),
                                     Text(KeyType::kParam, "b", Comparator::kEq, "x"),
                                     Text(KeyType::kTag, "c", Comparator::kNe, "y")));
  }
}

TEST(SearchFilterTest, WhitespaceIsFlexible) {
  auto parsed =
      ParseSearchFilter("  status='a'and user_id='b'\n\tAND\tmetrics.x>=-1e2  ", RunSearchRules());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_THAT(*parsed, ElementsAre(Text(KeyType::kAttribute, "status", Comparator::kEq, "a"),
                                   Text(KeyType::kAttribute, "user_id", Comparator::kEq, "b"),
                                   Numeric(KeyType::kMetric, "x", Comparator::kGe, -100)));
}

TEST(SearchFilterTest, OrIsRejectedWithMlflowsMessage) {
  EXPECT_EQ(FilterError("metrics.x > 1 OR metrics.y < 2"),
            "Invalid clause(s) in filter string: 'OR'");
  EXPECT_EQ(FilterError("metrics.x > 1 and metrics.y < 2 or params.p = 'a'"),
            "Invalid clause(s) in filter string: 'or'");
}

TEST(SearchFilterTest, MisplacedAndIsNamed) {
  EXPECT_EQ(FilterError("AND metrics.x > 1"), "Invalid clause(s) in filter string: 'AND'");
  EXPECT_EQ(FilterError("metrics.x > 1 AND AND metrics.y > 1"),
            "Invalid clause(s) in filter string: 'AND'");
  EXPECT_EQ(FilterError("metrics.x > 1 and"),
            "Invalid clause(s) in filter string: 'and' (nothing follows it)");
}

TEST(SearchFilterTest, MissingAndIsNamed) {
  EXPECT_EQ(FilterError("metrics.x > 1 metrics.y > 2"),
            "Invalid clause(s) in filter string: 'metrics.y'. Clauses must be joined with AND");
  EXPECT_EQ(FilterError("params.p = 'a' 'b'"),
            "Invalid clause(s) in filter string: ''b''. Clauses must be joined with AND");
  EXPECT_THAT(FilterError("metrics.x > 1)"), StartsWith("Invalid clause(s) in filter string: ')'"));
}

TEST(SearchFilterTest, IncompleteClausesAreNamed) {
  EXPECT_EQ(FilterError("metrics.x"),
            "Invalid comparison clause. Expected comparison found end of filter after "
            "'metrics.x'");
  EXPECT_EQ(FilterError("metrics.x >"),
            "Invalid comparison clause. Expected value token found end of filter after '>'");
  EXPECT_EQ(FilterError("run_id NOT IN"),
            "Invalid comparison clause. Expected value token found end of filter after 'NOT IN'");
  EXPECT_EQ(FilterError("metrics.x > AND metrics.y > 1"),
            "Invalid comparison clause. Expected value token found 'AND'");
  EXPECT_EQ(FilterError("metrics.x > > 1"),
            "Invalid comparison clause. Expected value token found '>'");
  EXPECT_EQ(FilterError("metrics.x 1"), "Invalid comparison clause. Expected comparison found '1'");
  EXPECT_EQ(FilterError("metrics.x AND metrics.y > 1"),
            "Invalid comparison clause. Expected comparison found 'AND'");
}

TEST(SearchFilterTest, ClauseMustStartWithIdentifier) {
  EXPECT_EQ(FilterError("1 < metrics.x"),
            "Invalid comparison clause. Expected 'Identifier' found '1'");
  EXPECT_EQ(FilterError("'metrics.x' > 1"),
            "Invalid comparison clause. Expected 'Identifier' found ''metrics.x''");
  EXPECT_EQ(FilterError("(metrics.x > 1)"),
            "Invalid comparison clause. Expected 'Identifier' found '('");
  EXPECT_EQ(FilterError("NOT metrics.x > 1"), "Invalid clause(s) in filter string: 'NOT'");
  EXPECT_EQ(FilterError("= 1"), "Invalid comparison clause. Expected 'Identifier' found '='");
}

TEST(SearchFilterTest, SemicolonMeansMultipleStatements) {
  EXPECT_EQ(FilterError("metrics.x > 1; metrics.y > 2"),
            "Search filter contained multiple expression 'metrics.x > 1; metrics.y > 2'. Provide "
            "AND-ed expression list.");
}

TEST(SearchFilterTest, SyntaxErrorsComeBeforeComparatorErrorsAsInMlflow) {
  EXPECT_THAT(FilterError("metrics.x > 1 AND foo.y = 'a' AND params.p > 1"),
              StartsWith("Invalid entity type 'foo'"));
  // MLflow checks comparators only once every clause has parsed.
  EXPECT_THAT(FilterError("params.p > 'a' AND foo.y = 'a'"),
              StartsWith("Invalid entity type 'foo'"));
  EXPECT_EQ(FilterError("params.p > 'a' AND metrics.x = 'b'"),
            "Expected numeric value type for metric. Found 'b'");
  EXPECT_EQ(FilterError("params.p > 'a' OR metrics.x = 1"),
            "Invalid clause(s) in filter string: 'OR'");
  // Among comparator errors, the first clause's wins.
  EXPECT_THAT(FilterError("params.p > 'a' AND metrics.x LIKE 1"),
              StartsWith("Invalid comparator '>'"));
}

// --- order_by ------------------------------------------------------------

TEST(OrderByTest, DirectionForms) {
  EXPECT_EQ(Order("metrics.x"), (OrderByClause{KeyType::kMetric, "x", true}));
  EXPECT_EQ(Order("metrics.x ASC"), (OrderByClause{KeyType::kMetric, "x", true}));
  EXPECT_EQ(Order("metrics.x Asc"), (OrderByClause{KeyType::kMetric, "x", true}));
  EXPECT_EQ(Order("metrics.x DESC"), (OrderByClause{KeyType::kMetric, "x", false}));
  EXPECT_EQ(Order("metrics.x desc"), (OrderByClause{KeyType::kMetric, "x", false}));
  EXPECT_EQ(Order("  metrics.x \t DESC  "), (OrderByClause{KeyType::kMetric, "x", false}));
}

TEST(OrderByTest, IdentifierForms) {
  EXPECT_EQ(Order("metrics.`my key` DESC"), (OrderByClause{KeyType::kMetric, "my key", false}));
  EXPECT_EQ(Order("metric.\"my key\""), (OrderByClause{KeyType::kMetric, "my key", true}));
  EXPECT_EQ(Order("`metrics`.x"), (OrderByClause{KeyType::kMetric, "x", true}));
  EXPECT_EQ(Order("params.lr"), (OrderByClause{KeyType::kParam, "lr", true}));
  EXPECT_EQ(Order("param.lr"), (OrderByClause{KeyType::kParam, "lr", true}));
  EXPECT_EQ(Order("tags.mlflow.runName DESC"),
            (OrderByClause{KeyType::kTag, "mlflow.runName", false}));
  EXPECT_EQ(Order("tag.`mlflow.runName`"), (OrderByClause{KeyType::kTag, "mlflow.runName", true}));
}

TEST(OrderByTest, Attributes) {
  for (std::string_view key :
       {"run_id", "run_name", "status", "user_id", "artifact_uri", "start_time", "end_time"}) {
    EXPECT_EQ(Order(key), (OrderByClause{KeyType::kAttribute, std::string(key), true}));
    EXPECT_EQ(Order("attributes." + std::string(key) + " DESC"),
              (OrderByClause{KeyType::kAttribute, std::string(key), false}));
  }
  EXPECT_EQ(Order("created DESC"), (OrderByClause{KeyType::kAttribute, "start_time", false}));
  EXPECT_EQ(Order("Created"), (OrderByClause{KeyType::kAttribute, "start_time", true}));
  EXPECT_EQ(Order("`start_time` desc"), (OrderByClause{KeyType::kAttribute, "start_time", false}));
  EXPECT_EQ(Order("run.end_time"), (OrderByClause{KeyType::kAttribute, "end_time", true}));
}

TEST(OrderByTest, InvalidClausesAreNamed) {
  EXPECT_EQ(OrderError(""), "Invalid order_by clause ''. Could not be parsed.");
  EXPECT_EQ(OrderError("   "), "Invalid order_by clause '   '. Could not be parsed.");
  EXPECT_EQ(OrderError("metrics.x DESC ASC"),
            "Invalid order_by clause 'metrics.x DESC ASC'. Could not be parsed.");
  EXPECT_EQ(OrderError("metrics.x, metrics.y"),
            "Invalid order_by clause 'metrics.x, metrics.y'. Could not be parsed.");
  EXPECT_EQ(OrderError("metrics.x > 1"),
            "Invalid order_by clause 'metrics.x > 1'. Could not be parsed.");
  EXPECT_EQ(OrderError("metrics.loss/val"),
            "Invalid order_by clause 'metrics.loss/val'. Could not be parsed.");
  EXPECT_EQ(OrderError("metrics.'x'"),
            "Invalid order_by clause 'metrics.'x''. Could not be parsed.");
  EXPECT_EQ(OrderError("metrics.x;"), "Invalid order_by clause 'metrics.x;'. Could not be parsed.");
  EXPECT_EQ(OrderError("DESC"),
            "Invalid attribute key 'DESC' specified. Valid keys are "
            "'{'run_id', 'run_name', 'status', 'user_id', 'artifact_uri', "
            "'start_time', 'end_time', 'created', 'Created'}'");
  EXPECT_EQ(OrderError("AND"), "Invalid order_by clause 'AND'. Could not be parsed.");
  EXPECT_EQ(OrderError("metrics.x foo"),
            "Invalid ordering key in order_by clause 'metrics.x foo'.");
}

TEST(OrderByTest, InvalidKeysAreNamed) {
  EXPECT_EQ(OrderError("experiment_id"),
            "Invalid attribute key 'experiment_id' specified. Valid keys are "
            "'{'run_id', 'run_name', 'status', 'user_id', 'artifact_uri', 'start_time', "
            "'end_time', 'created', 'Created'}'");
  // "run name" is a filter alias only, as in MLflow.
  EXPECT_THAT(OrderError("`Run name`"), StartsWith("Invalid attribute key 'Run name' specified"));
  EXPECT_EQ(OrderError("METRICS.x"),
            "Invalid entity type 'METRICS'. " + std::string(kRunEntityTypes));
  EXPECT_EQ(OrderError("dataset.name"), "Invalid order_by entity type 'dataset'");
  EXPECT_EQ(OrderError("dataset.foo"),
            "Invalid dataset key 'foo' specified. Valid keys are '{'name', 'digest', 'context'}'");
  EXPECT_THAT(OrderError("metrics.``"), StartsWith("Invalid identifier 'metrics.``'"));
}

TEST(OrderByTest, ListRejectsDuplicateFields) {
  auto ok = ParseOrderByList({"metrics.x DESC", "params.x", "start_time"}, RunSearchRules());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_THAT(*ok, ElementsAre(OrderByClause{KeyType::kMetric, "x", false},
                               OrderByClause{KeyType::kParam, "x", true},
                               OrderByClause{KeyType::kAttribute, "start_time", true}));

  auto dup = ParseOrderByList({"start_time", "created DESC"}, RunSearchRules());
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(),
            "`order_by` contains duplicate fields: ['start_time', 'created DESC']");

  auto bad = ParseOrderByList({"metrics.x", "nope"}, RunSearchRules());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), StartsWith("Invalid attribute key 'nope'"));

  auto empty = ParseOrderByList({}, RunSearchRules());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// --- Other entities' rules -------------------------------------------------

AttributeRule Attribute(std::string name, bool numeric = false, bool allows_list = false) {
  AttributeRule rule;
  rule.name = std::move(name);
  rule.numeric = numeric;
  rule.allows_list = allows_list;
  return rule;
}

// Rules shaped like model-version search: attributes and tags only.
SearchEntityRules ModelVersionLikeRules() {
  SearchEntityRules rules;
  rules.allow_metrics = false;
  rules.allow_params = false;
  rules.attributes = {Attribute("name"), Attribute("version_number", /*numeric=*/true),
                      Attribute("run_id", false, /*allows_list=*/true),
                      Attribute("source_path", false, /*allows_list=*/true),
                      Attribute("creation_timestamp", /*numeric=*/true)};
  rules.attributes[3].orderable = false;
  rules.attributes[4].filterable = false;
  rules.attributes[4].order_by_aliases = {"timestamp"};
  return rules;
}

TEST(SearchRulesTest, CustomRulesRestrictPrefixesAndKeys) {
  const SearchEntityRules rules = ModelVersionLikeRules();
  EXPECT_EQ(FilterError("metrics.x > 1", rules),
            "Invalid entity type 'metrics'. Valid values are ['tag', 'attribute']");
  EXPECT_EQ(FilterError("params.x = 'a'", rules),
            "Invalid entity type 'params'. Valid values are ['tag', 'attribute']");
  EXPECT_EQ(FilterError("dataset.name = 'a'", rules),
            "Invalid entity type 'dataset'. Valid values are ['tag', 'attribute']");
  EXPECT_EQ(FilterError("creation_timestamp > 1", rules),
            "Invalid attribute key 'creation_timestamp' specified. Valid keys are "
            "'{'name', 'version_number', 'run_id', 'source_path'}'");
  EXPECT_EQ(FilterError("name IN ('a')", rules),
            "Only the 'run_id', 'source_path' attributes support comparison with a list of "
            "quoted string values (got 'name').");

  auto parsed = ParseSearchFilter(
      "name = 'm' AND version_number >= 2 AND source_path IN ('s3://x') AND tags.t LIKE '%'",
      rules);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_THAT(*parsed,
              ElementsAre(Text(KeyType::kAttribute, "name", Comparator::kEq, "m"),
                          Numeric(KeyType::kAttribute, "version_number", Comparator::kGe, 2),
                          List(KeyType::kAttribute, "source_path", Comparator::kIn, {"s3://x"}),
                          Text(KeyType::kTag, "t", Comparator::kLike, "%")));
}

TEST(SearchRulesTest, CustomRulesForOrderBy) {
  const SearchEntityRules rules = ModelVersionLikeRules();
  EXPECT_EQ(Order("timestamp DESC", rules),
            (OrderByClause{KeyType::kAttribute, "creation_timestamp", false}));
  EXPECT_EQ(OrderError("source_path", rules),
            "Invalid attribute key 'source_path' specified. Valid keys are "
            "'{'name', 'version_number', 'run_id', 'creation_timestamp', 'timestamp'}'");
  EXPECT_THAT(OrderError("metrics.x", rules), StartsWith("Invalid entity type 'metrics'"));
}

TEST(SearchRulesTest, NoListAttributes) {
  SearchEntityRules rules;
  rules.attributes = {Attribute("name")};
  EXPECT_EQ(FilterError("name IN ('a')", rules),
            "No attribute supports comparison with a list of quoted string values (got 'name').");
}

// --- LikeMatch -------------------------------------------------------------

TEST(LikeMatchTest, Literals) {
  EXPECT_TRUE(LikeMatch("abc", "abc", false));
  EXPECT_FALSE(LikeMatch("abc", "abd", false));
  EXPECT_FALSE(LikeMatch("abc", "ab", false));
  EXPECT_FALSE(LikeMatch("ab", "abc", false));
  EXPECT_TRUE(LikeMatch("", "", false));
  EXPECT_FALSE(LikeMatch("a", "", false));
  EXPECT_FALSE(LikeMatch("", "a", false));
}

TEST(LikeMatchTest, Percent) {
  EXPECT_TRUE(LikeMatch("", "%", false));
  EXPECT_TRUE(LikeMatch("anything", "%", false));
  EXPECT_TRUE(LikeMatch("", "%%", false));
  EXPECT_TRUE(LikeMatch("abc", "a%", false));
  EXPECT_TRUE(LikeMatch("abc", "%c", false));
  EXPECT_TRUE(LikeMatch("abc", "%b%", false));
  EXPECT_TRUE(LikeMatch("abc", "a%%c", false));
  EXPECT_TRUE(LikeMatch("ac", "a%c", false));
  EXPECT_FALSE(LikeMatch("abd", "a%c", false));
  EXPECT_FALSE(LikeMatch("xabc", "a%", false));
  // Backtracking: the first 'a' '%' could take is not the right one.
  EXPECT_TRUE(LikeMatch("aaab", "%aab", false));
  EXPECT_TRUE(LikeMatch("mississippi", "m%iss%ppi", false));
  EXPECT_FALSE(LikeMatch("mississippi", "m%iss%ppx", false));
  EXPECT_TRUE(LikeMatch("abcabc", "%abc", false));
  EXPECT_TRUE(LikeMatch("abcab", "%ab_%", false));
}

TEST(LikeMatchTest, Underscore) {
  EXPECT_TRUE(LikeMatch("abc", "a_c", false));
  EXPECT_TRUE(LikeMatch("abc", "___", false));
  EXPECT_FALSE(LikeMatch("abc", "__", false));
  EXPECT_FALSE(LikeMatch("abc", "____", false));
  EXPECT_FALSE(LikeMatch("", "_", false));
  EXPECT_TRUE(LikeMatch("abc", "_%", false));
  EXPECT_FALSE(LikeMatch("", "_%", false));
  EXPECT_TRUE(LikeMatch("abcd", "%_d", false));
}

TEST(LikeMatchTest, UnderscoreIsOneCodePoint) {
  EXPECT_TRUE(LikeMatch("caf\xC3\xA9", "caf_", false));      // é: 2 bytes.
  EXPECT_TRUE(LikeMatch("\xE6\x97\xA5", "_", false));        // 日: 3 bytes.
  EXPECT_TRUE(LikeMatch("\xF0\x9F\x98\x80!", "_!", false));  // 😀: 4 bytes.
  EXPECT_FALSE(LikeMatch("\xE6\x97\xA5", "__", false));
  EXPECT_TRUE(LikeMatch("a\xE6\x97\xA5z", "a%z", false));
  EXPECT_TRUE(LikeMatch("\xE6\x97\xA5\xE6\x9C\xAC", "%\xE6\x9C\xAC", false));
  // Invalid UTF-8 counts byte by byte and never reads out of bounds.
  EXPECT_TRUE(LikeMatch("\xC3", "_", false));
  EXPECT_TRUE(LikeMatch("\xE6\x97", "__", false));
  EXPECT_TRUE(LikeMatch("\xFF\xFE", "__", false));
}

TEST(LikeMatchTest, OtherCharactersAreLiteral) {
  // No regex semantics (MLflow's in-memory matcher treats '.' as a wildcard).
  EXPECT_FALSE(LikeMatch("abc", "a.c", false));
  EXPECT_TRUE(LikeMatch("a.c", "a.c", false));
  EXPECT_FALSE(LikeMatch("aab", "a+b", false));
  EXPECT_TRUE(LikeMatch("a*b", "a*b", false));
  EXPECT_TRUE(LikeMatch("[x]", "[x]", false));
  // No escape character: a backslash is itself, and '%' after it is a wildcard.
  EXPECT_TRUE(LikeMatch("a\\b", "a\\b", false));
  EXPECT_TRUE(LikeMatch("a\\xyz", "a\\%", false));
  EXPECT_TRUE(LikeMatch("a\\x", "a\\_", false));
  EXPECT_FALSE(LikeMatch("a%", "a\\%", false));
}

TEST(LikeMatchTest, CaseSensitivity) {
  EXPECT_FALSE(LikeMatch("ABC", "abc", false));
  EXPECT_TRUE(LikeMatch("ABC", "abc", true));
  EXPECT_TRUE(LikeMatch("abc", "A%C", true));
  EXPECT_TRUE(LikeMatch("MyRun-42", "myrun%", true));
  EXPECT_FALSE(LikeMatch("MyRun-42", "myrun%", false));
  // ASCII folding only, as SQLite's lower().
  EXPECT_FALSE(LikeMatch("\xC3\x89", "\xC3\xA9", true));  // É vs é.
}

TEST(LikeMatchTest, LongInputsStayFast) {
  const std::string text(4000, 'a');
  const std::string pattern = "%" + std::string(50, 'a') + "b%";
  EXPECT_FALSE(LikeMatch(text, pattern, false));
  EXPECT_TRUE(LikeMatch(text + "b", pattern, false));
}

// --- Names -------------------------------------------------------------------

TEST(SearchFilterNamesTest, KeyTypeAndComparatorNames) {
  EXPECT_EQ(KeyTypeName(KeyType::kMetric), "metric");
  EXPECT_EQ(KeyTypeName(KeyType::kParam), "parameter");
  EXPECT_EQ(KeyTypeName(KeyType::kTag), "tag");
  EXPECT_EQ(KeyTypeName(KeyType::kAttribute), "attribute");
  EXPECT_EQ(KeyTypeName(KeyType::kDataset), "dataset");
  EXPECT_EQ(ComparatorName(Comparator::kEq), "=");
  EXPECT_EQ(ComparatorName(Comparator::kNe), "!=");
  EXPECT_EQ(ComparatorName(Comparator::kLt), "<");
  EXPECT_EQ(ComparatorName(Comparator::kLe), "<=");
  EXPECT_EQ(ComparatorName(Comparator::kGt), ">");
  EXPECT_EQ(ComparatorName(Comparator::kGe), ">=");
  EXPECT_EQ(ComparatorName(Comparator::kLike), "LIKE");
  EXPECT_EQ(ComparatorName(Comparator::kILike), "ILIKE");
  EXPECT_EQ(ComparatorName(Comparator::kIn), "IN");
  EXPECT_EQ(ComparatorName(Comparator::kNotIn), "NOT IN");
}

}  // namespace
}  // namespace cairn::search
