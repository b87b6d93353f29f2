// Fuzzes the on-demand expression parser and evaluator. Beyond "no crash":
// errors are InvalidArgument naming the expression; a compiled expression
// evaluates on nulls, integers, floats and strings without trapping.
#include <cstddef>
#include <cstdint>
#include <string>

#include "features/expression.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using cairn::features::ExprValue;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto expression = cairn::features::Expression::Compile(
      text, [](const std::string& name) { return name == "a" || name == "b" || name == "s"; });
  if (!expression.ok()) {
    if (expression.status().code() != cairn::StatusCode::kInvalidArgument ||
        expression.status().message().find("expression '") != 0) {
      __builtin_trap();
    }
    return 0;
  }
  for (const std::vector<ExprValue>& row :
       {std::vector<ExprValue>{ExprValue(), ExprValue(), ExprValue()},
        std::vector<ExprValue>{int64_t{INT64_MIN}, int64_t{-1}, std::string("x")},
        std::vector<ExprValue>{1e308, 0.0, std::string()},
        std::vector<ExprValue>{true, 2.5, std::string("é")}}) {
    std::vector<ExprValue> bound;
    for (size_t i = 0; i < expression->inputs().size(); ++i) bound.push_back(row[i % row.size()]);
    expression->Evaluate(bound);
  }
  return 0;
}
