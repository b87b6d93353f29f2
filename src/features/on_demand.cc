#include "features/on_demand.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace cairn::features {
namespace {

// Where `name` comes from, or an error saying why it cannot be resolved.
StatusOr<OnDemandInput> Resolve(const FeatureRepo& repo, const OnDemandFeatureView& odfv,
                                const std::string& name) {
  size_t dot = name.find('.');
  if (dot != std::string::npos) {
    std::string view_name = name.substr(0, dot);
    std::string feature = name.substr(dot + 1);
    bool is_source =
        std::find(odfv.sources.begin(), odfv.sources.end(), view_name) != odfv.sources.end();
    const FeatureView* view = repo.FindFeatureView(view_name);
    const Field* field = view != nullptr ? view->FindFeature(feature) : nullptr;
    if (!is_source || field == nullptr) {
      return InvalidArgument("'" + name + "' is not a feature of a source of this view");
    }
    return OnDemandInput{name, false, view_name, feature, field->type};
  }
  std::vector<OnDemandInput> found;
  for (const std::string& source : odfv.sources) {
    const FeatureView* view = repo.FindFeatureView(source);
    if (view == nullptr) continue;
    if (const Field* field = view->FindFeature(name)) {
      found.push_back({name, false, source, name, field->type});
    }
  }
  for (const Field& field : odfv.request_schema) {
    if (field.name == name) found.push_back({name, true, "", name, field.type});
  }
  if (found.empty()) {
    return InvalidArgument("unknown name '" + name +
                           "'; use a feature of the view's sources or a request_schema field");
  }
  if (found.size() > 1) {
    return InvalidArgument("'" + name + "' is a feature of several sources; write view.feature");
  }
  return found.front();
}

}  // namespace

StatusOr<CompiledOnDemand> CompileOnDemand(const FeatureRepo& repo,
                                           const OnDemandFeatureView& view) {
  CompiledOnDemand compiled{.view = &view};
  for (const OnDemandFeature& feature : view.features) {
    Status unresolved = Status::Ok();
    auto known = [&](const std::string& name) {
      StatusOr<OnDemandInput> input = Resolve(repo, view, name);
      if (!input.ok() && unresolved.ok()) unresolved = input.status();
      return input.ok();
    };
    StatusOr<Expression> expression = Expression::Compile(feature.expression, known);
    if (!expression.ok()) {
      std::string why = unresolved.ok()
                            ? expression.status().message()
                            : unresolved.message() + " (" + expression.status().message() + ")";
      return InvalidArgument(view.origin + ": on-demand feature view '" + view.name +
                             "', feature '" + feature.field.name + "': " + why);
    }
    std::vector<size_t> binding;
    for (const std::string& name : expression->inputs()) {
      size_t index = 0;
      while (index < compiled.inputs.size() && compiled.inputs[index].name != name) ++index;
      if (index == compiled.inputs.size()) {
        ASSIGN_OR_RETURN(OnDemandInput input, Resolve(repo, view, name));
        compiled.inputs.push_back(std::move(input));
      }
      binding.push_back(index);
    }
    compiled.bindings.push_back(std::move(binding));
    compiled.expressions.push_back(std::move(*expression));
  }
  return compiled;
}

FeatureValue CompiledOnDemand::Evaluate(size_t i,
                                        const std::vector<ExprValue>& input_values) const {
  std::vector<ExprValue> bound;
  bound.reserve(bindings[i].size());
  for (size_t index : bindings[i]) bound.push_back(input_values[index]);
  return FromExprValue(expressions[i].Evaluate(bound), view->features[i].field.type);
}

ExprValue AsDeclared(const ExprValue& value, ValueType type) {
  return ToExprValue(FromExprValue(value, type), type);
}

ExprValue ToExprValue(const FeatureValue& value, ValueType type) {
  if (const int64_t* i = std::get_if<int64_t>(&value)) {
    if (type == ValueType::kBool) return *i != 0;
    return *i;
  }
  if (const double* d = std::get_if<double>(&value)) return *d;
  if (const std::string* s = std::get_if<std::string>(&value)) return *s;
  return {};
}

FeatureValue FromExprValue(const ExprValue& value, ValueType type) {
  if (std::holds_alternative<std::monostate>(value)) return {};
  const bool* b = std::get_if<bool>(&value);
  const int64_t* i = std::get_if<int64_t>(&value);
  const double* d = std::get_if<double>(&value);
  const std::string* s = std::get_if<std::string>(&value);
  switch (type) {
    case ValueType::kFloat32:
    case ValueType::kFloat64: {
      double v = b ? (*b ? 1.0 : 0.0) : i ? static_cast<double>(*i) : d ? *d : NAN;
      if (s != nullptr || !std::isfinite(v)) return {};
      return type == ValueType::kFloat32 ? static_cast<double>(static_cast<float>(v)) : v;
    }
    case ValueType::kInt32:
    case ValueType::kInt64:
    case ValueType::kUnixTimestamp:
      if (b) return static_cast<int64_t>(*b);
      if (i) return *i;
      if (d && std::isfinite(*d) && std::fabs(*d) < 9.2e18)
        return static_cast<int64_t>(std::llround(*d));
      return {};
    case ValueType::kBool:
      if (b) return static_cast<int64_t>(*b);
      if (i) return static_cast<int64_t>(*i != 0);
      if (d) return static_cast<int64_t>(*d != 0);
      return {};
    case ValueType::kString:
    case ValueType::kBytes:
      if (s) return *s;
      if (b) return std::string(*b ? "true" : "false");
      if (i) return std::to_string(*i);
      if (d) {
        char buffer[32];
        auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), *d);
        return std::string(buffer, end);
      }
      return {};
  }
  return {};
}

}  // namespace cairn::features
