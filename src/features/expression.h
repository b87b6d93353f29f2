// Expressions of on-demand features: one parser and one evaluator, used by
// training-set retrieval (after the point-in-time join) and by online serving
// (after the lookup), so a feature cannot be computed one way in training and
// another in production.
//
// Grammar (lowest to highest precedence):
//   or  and  not  comparisons (== != < <= > >=)  + -  * / %  unary -
//   primary: number, 'string' or "string", true, false, null, name,
//            function(args...), ( expr )
// Names are features of the view's sources or request fields. Functions:
//   math       abs sqrt exp log log10 pow floor ceil round min max clip(x, lo, hi)
//   logic      if(cond, then, else)  coalesce(a, b, ...)  is_null(x)
//   strings    lower upper length concat(a, ...) substr(s, start, length)
//              contains(s, t) starts_with(s, t) ends_with(s, t)
// Nulls propagate through arithmetic, comparisons and functions (a null
// condition picks `else`); integer arithmetic stays integer except '/',
// which is always a float division; division by zero gives null.
//
// Thread-safety: a compiled Expression is immutable; Evaluate is reentrant.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace cairn::features {

using ExprValue = std::variant<std::monostate, bool, int64_t, double, std::string>;

struct ExprNode;

class Expression {
 public:
  // Parses `text`. `known(name)` says whether a name may be referenced.
  // Errors: InvalidArgument naming the position and what was expected, an
  // unknown name, or a function called with the wrong number of arguments.
  static StatusOr<Expression> Compile(std::string_view text,
                                      const std::function<bool(const std::string&)>& known);

  // The names the expression reads, each once, in order of appearance.
  const std::vector<std::string>& inputs() const { return inputs_; }

  // Evaluates with inputs()[i] bound to values[i].
  ExprValue Evaluate(const std::vector<ExprValue>& values) const;

 private:
  std::shared_ptr<const ExprNode> root_;
  std::vector<std::string> inputs_;
};

}  // namespace cairn::features
