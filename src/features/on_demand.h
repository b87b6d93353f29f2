// On-demand feature views, compiled: each feature's expression
// (features/expression.h) and where each name it reads comes from: a feature
// of one of the view's source feature views ("feature", or "view.feature"
// when two sources share the name) or a request field. Training-set
// retrieval and online serving both evaluate through CompiledOnDemand, so
// the two cannot compute a feature differently.
//
// Thread-safety: a CompiledOnDemand is immutable after CompileOnDemand.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "features/definitions.h"
#include "features/expression.h"
#include "features/online_codec.h"

namespace cairn::features {

struct OnDemandInput {
  std::string name;  // as written in expressions
  bool from_request = false;
  std::string view;     // source feature view (when not from the request)
  std::string feature;  // its feature, or the request field
  ValueType type = ValueType::kFloat64;
};

struct CompiledOnDemand {
  const OnDemandFeatureView* view = nullptr;
  std::vector<OnDemandInput> inputs;    // every name any expression reads, once
  std::vector<Expression> expressions;  // one per feature, in view order
  // For expression i, the index in `inputs` of each of its inputs().
  std::vector<std::vector<size_t>> bindings;

  // Evaluates feature `i` given one value per entry of `inputs`.
  FeatureValue Evaluate(size_t i, const std::vector<ExprValue>& input_values) const;
};

// Errors: InvalidArgument naming the view, the feature and the problem (an
// unknown or ambiguous name, a syntax error at a position).
StatusOr<CompiledOnDemand> CompileOnDemand(const FeatureRepo& repo,
                                           const OnDemandFeatureView& view);

// Conversions between stored feature values and expression values.
ExprValue ToExprValue(const FeatureValue& value, ValueType type);
// Casts to the declared type; values that cannot be cast become null.
FeatureValue FromExprValue(const ExprValue& value, ValueType type);
// A request field's value as its declared type sees it, so a field read from
// an entity file column and the same field sent in JSON evaluate alike.
ExprValue AsDeclared(const ExprValue& value, ValueType type);

}  // namespace cairn::features
