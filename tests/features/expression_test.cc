// The on-demand expression language: precedence, integer and float
// arithmetic, nulls, comparisons, logic, functions, and errors that point
// at the character at fault.
#include "features/expression.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "features/on_demand.h"
#include "status_testing.h"

namespace cairn::features {
namespace {

using ::testing::HasSubstr;

ExprValue Eval(const std::string& text, std::vector<std::pair<std::string, ExprValue>> vars = {}) {
  auto known = [&](const std::string& name) {
    for (const auto& [n, v] : vars) {
      if (n == name) return true;
    }
    return false;
  };
  StatusOr<Expression> e = Expression::Compile(text, known);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().ToString();
  if (!e.ok()) return {};
  std::vector<ExprValue> values;
  for (const std::string& name : e->inputs()) {
    for (const auto& [n, v] : vars) {
      if (n == name) values.push_back(v);
    }
  }
  return e->Evaluate(values);
}

template <typename T>
T As(const ExprValue& v) {
  EXPECT_TRUE(std::holds_alternative<T>(v));
  return std::holds_alternative<T>(v) ? std::get<T>(v) : T{};
}

bool IsNull(const ExprValue& v) { return std::holds_alternative<std::monostate>(v); }

TEST(ExpressionTest, ArithmeticAndPrecedence) {
  EXPECT_EQ(As<int64_t>(Eval("1 + 2 * 3")), 7);
  EXPECT_EQ(As<int64_t>(Eval("(1 + 2) * 3")), 9);
  EXPECT_EQ(As<int64_t>(Eval("-2 * -3")), 6);
  EXPECT_EQ(As<int64_t>(Eval("7 % 3")), 1);
  EXPECT_DOUBLE_EQ(As<double>(Eval("7 / 2")), 3.5);  // '/' always divides as floats
  EXPECT_DOUBLE_EQ(As<double>(Eval("1.5 + 1")), 2.5);
  EXPECT_DOUBLE_EQ(As<double>(Eval("1e3 * 2")), 2000);
  EXPECT_TRUE(IsNull(Eval("1 / 0")));
  EXPECT_TRUE(IsNull(Eval("5 % 0")));
  // Regression (expression_fuzz): the smallest integer % -1 trapped.
  EXPECT_EQ(As<int64_t>(Eval("a % -1", {{"a", int64_t{INT64_MIN}}})), 0);
  EXPECT_TRUE(IsNull(Eval("x + 1", {{"x", ExprValue()}})));
  EXPECT_DOUBLE_EQ(As<double>(Eval("9223372036854775807 + 1")), 9223372036854775808.0);
  EXPECT_EQ(As<std::string>(Eval("'a' + \"b\"")), "ab");
}

TEST(ExpressionTest, ComparisonsAndLogic) {
  EXPECT_TRUE(
      As<bool>(Eval("rate > 0.5 and trips >= 10", {{"rate", 0.7}, {"trips", int64_t{10}}})));
  EXPECT_FALSE(As<bool>(Eval("not (1 < 2) or 2 == 3")));
  EXPECT_TRUE(As<bool>(Eval("'abc' < 'abd'")));
  EXPECT_TRUE(As<bool>(Eval("1 == 1.0")));
  EXPECT_FALSE(As<bool>(Eval("'1' == 1")));
  EXPECT_FALSE(As<bool>(Eval("9007199254740993 == 9007199254740992")));  // beyond doubles' 2^53
  EXPECT_TRUE(IsNull(Eval("x > 1", {{"x", ExprValue()}})));
  EXPECT_FALSE(As<bool>(Eval("x > 1 and true", {{"x", ExprValue()}})));
  EXPECT_TRUE(As<bool>(Eval("!false && true || false")));
  EXPECT_EQ(As<int64_t>(Eval("if(x > 1, 10, 20)", {{"x", ExprValue()}})), 20);  // null -> else
}

TEST(ExpressionTest, Functions) {
  EXPECT_DOUBLE_EQ(As<double>(Eval("sqrt(16) + abs(-2.5)")), 6.5);
  EXPECT_EQ(As<int64_t>(Eval("abs(-3)")), 3);
  EXPECT_DOUBLE_EQ(As<double>(Eval("pow(2, 10)")), 1024);
  EXPECT_TRUE(IsNull(Eval("log(0)")));
  EXPECT_TRUE(IsNull(Eval("sqrt(-1)")));
  EXPECT_DOUBLE_EQ(As<double>(Eval("round(2.5) + floor(1.9) + ceil(1.1)")), 6);
  EXPECT_EQ(As<int64_t>(Eval("max(1, 5, 3)")), 5);
  EXPECT_DOUBLE_EQ(As<double>(Eval("min(2.5, 3)")), 2.5);
  EXPECT_EQ(As<int64_t>(Eval("clip(15, 0, 10)")), 10);
  EXPECT_EQ(As<int64_t>(Eval("coalesce(x, y, 7)", {{"x", ExprValue()}, {"y", ExprValue()}})), 7);
  EXPECT_TRUE(As<bool>(Eval("is_null(x)", {{"x", ExprValue()}})));
  EXPECT_EQ(As<std::string>(Eval("upper(lower('MiXeD'))")), "MIXED");
  EXPECT_EQ(As<int64_t>(Eval("length('hello')")), 5);
  EXPECT_EQ(As<std::string>(Eval("concat('a', 1, true, 2.5)")), "a1true2.5");
  EXPECT_EQ(As<std::string>(Eval("substr('cairn', 2, 3)")), "air");
  EXPECT_EQ(As<std::string>(Eval("substr('cairn', 9)")), "");
  EXPECT_EQ(As<std::string>(Eval("substr('cairn', 2, 1e300)")), "airn");
  EXPECT_TRUE(IsNull(Eval("substr('cairn', log(0))")));
  EXPECT_TRUE(
      As<bool>(Eval("contains('feature', 'tur') and starts_with('abc', 'ab') and "
                    "ends_with('abc', 'bc')")));
  EXPECT_TRUE(IsNull(Eval("upper(x)", {{"x", ExprValue()}})));
}

// Request fields reach expressions as their declared type, whether they came
// from an entity file column (typed by DuckDB) or from JSON.
TEST(ExpressionTest, RequestFieldsTakeTheirDeclaredType) {
  EXPECT_EQ(As<double>(AsDeclared(int64_t{2}, ValueType::kFloat64)), 2.0);
  EXPECT_EQ(As<int64_t>(AsDeclared(2.6, ValueType::kInt64)), 3);
  EXPECT_EQ(As<std::string>(AsDeclared(int64_t{7}, ValueType::kString)), "7");
  EXPECT_TRUE(As<bool>(AsDeclared(int64_t{1}, ValueType::kBool)));
  EXPECT_TRUE(IsNull(AsDeclared(std::string("x"), ValueType::kFloat64)));
  EXPECT_EQ(
      As<double>(AsDeclared(static_cast<double>(static_cast<float>(0.1)), ValueType::kFloat32)),
      static_cast<double>(0.1f));
}

TEST(ExpressionTest, InputsAreListedOnce) {
  StatusOr<Expression> e =
      Expression::Compile("a + b * a + ordinal", [](const std::string&) { return true; });
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->inputs(), (std::vector<std::string>{"a", "b", "ordinal"}));
}

TEST(ExpressionTest, ErrorsPointAtTheProblem) {
  auto error = [](const std::string& text) {
    StatusOr<Expression> e =
        Expression::Compile(text, [](const std::string& n) { return n == "x"; });
    EXPECT_FALSE(e.ok()) << text;
    return e.status().message();
  };
  EXPECT_THAT(error("x +"), HasSubstr("at character 4: expected a value"));
  EXPECT_THAT(error("y * 2"), HasSubstr("at character 1: unknown name 'y'"));
  EXPECT_THAT(error("frobnicate(x)"), HasSubstr("unknown function 'frobnicate'"));
  EXPECT_THAT(error("pow(x)"), HasSubstr("pow() takes 2 arguments, not 1"));
  EXPECT_THAT(error("if(x, 1)"), HasSubstr("if() takes 3 arguments"));
  EXPECT_THAT(error("(x + 1"), HasSubstr("expected ')'"));
  EXPECT_THAT(error("'open"), HasSubstr("string is not closed"));
  EXPECT_THAT(error("x 1"), HasSubstr("unexpected '1'"));
  EXPECT_THAT(error("1.2.3"), HasSubstr("is not a number"));
  EXPECT_THAT(error(std::string(200, '(') + "x" + std::string(200, ')')),
              HasSubstr("nested too deeply"));
  EXPECT_THAT(error(std::string(200, '-') + "x"), HasSubstr("nested too deeply"));
  std::string chain = "x";
  for (int i = 0; i < 100000; ++i) chain += "+x";  // left-deep without parser recursion
  EXPECT_THAT(error(chain), HasSubstr("nested too deeply"));
}

}  // namespace
}  // namespace cairn::features
