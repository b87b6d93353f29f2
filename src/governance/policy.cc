#include "governance/policy.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cairn::governance {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool ParseNumber(const std::string& text, double* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return end != nullptr && *end == '\0';
}

std::string Format(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", v);
  return buffer;
}

bool Compare(double a, const std::string& op, double b) {
  if (op == "<") return a < b;
  if (op == "<=") return a <= b;
  if (op == ">") return a > b;
  if (op == ">=") return a >= b;
  if (op == "==") return a == b;
  return a != b;
}

std::string Negated(const std::string& op) {
  if (op == "<") return ">=";
  if (op == "<=") return ">";
  if (op == ">") return "<=";
  if (op == ">=") return "<";
  if (op == "==") return "!=";
  return "==";
}

}  // namespace

bool Policy::Guards(const std::string& target) const {
  std::string what = target.substr(target.find(':') + 1);
  const auto& list = target.rfind("alias:", 0) == 0 ? aliases : stages;
  for (const std::string& s : list) {
    if (s == what) return true;
  }
  return false;
}

StatusOr<Gate> ParseGate(const std::string& text) {
  Gate gate;
  gate.text = Trim(text);
  static const char* kOps[] = {"<=", ">=", "==", "!=", "<", ">"};
  size_t at = std::string::npos;
  for (const char* op : kOps) {
    size_t found = gate.text.find(op);
    if (found != std::string::npos && (at == std::string::npos || found < at)) {
      at = found;
      gate.op = op;
    }
  }
  if (at == std::string::npos) {
    return InvalidArgument("gate '" + gate.text +
                           "': expected '<metric> <op> <bound>' with op one of < <= > >= == !=, "
                           "e.g. 'auc >= 0.8' or 'rmse <= 0.95 * production.rmse'");
  }
  gate.metric = Trim(gate.text.substr(0, at));
  std::string bound = Trim(gate.text.substr(at + gate.op.size()));
  if (gate.metric.empty()) return InvalidArgument("gate '" + gate.text + "': no metric name");
  if (ParseNumber(bound, &gate.constant)) return gate;
  std::string factor_text = "1", reference = bound;
  size_t star = bound.find('*');
  if (star != std::string::npos) {
    std::string left = Trim(bound.substr(0, star)), right = Trim(bound.substr(star + 1));
    bool left_is_reference = left.rfind("production.", 0) == 0;
    factor_text = left_is_reference ? right : left;
    reference = left_is_reference ? left : right;
  }
  if (reference.rfind("production.", 0) != 0 || reference.size() <= 11 ||
      !ParseNumber(factor_text, &gate.factor)) {
    return InvalidArgument("gate '" + gate.text + "': the bound '" + bound +
                           "' must be a number, production.<metric>, or <number> * "
                           "production.<metric>");
  }
  gate.baseline_metric = reference.substr(11);
  return gate;
}

namespace {

// ParsePolicy's body; yaml-cpp reports odd shapes (complex keys, aliases,
// tags) by throwing, which ParsePolicy turns into errors.
StatusOr<Policy> ParsePolicyOrThrow(const std::string& yaml, const std::string& source) {
  Policy policy;
  policy.source = source;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + " line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return policy;
  if (!root.IsMap()) return InvalidArgument(source + ": expected a mapping of policy fields");
  for (const auto& item : root) {
    std::string key = item.first.as<std::string>();
    const YAML::Node& value = item.second;
    std::string where =
        source + " line " + std::to_string(item.first.Mark().line + 1) + ", '" + key + "'";
    try {
      if (key == "stages" || key == "aliases") {
        if (!value.IsSequence()) return InvalidArgument(where + ": expected a list");
        auto& list = key == "stages" ? policy.stages : policy.aliases;
        list.clear();
        for (const auto& v : value) list.push_back(v.as<std::string>());
      } else if (key == "gates") {
        if (!value.IsSequence()) return InvalidArgument(where + ": expected a list of gates");
        for (const auto& v : value) {
          auto gate = ParseGate(v.as<std::string>());
          if (!gate.ok()) return InvalidArgument(where + ": " + gate.status().message());
          policy.gates.push_back(*gate);
        }
      } else if (key == "approvals") {
        policy.approvals = value.as<int>();
        if (policy.approvals < 0) return InvalidArgument(where + ": must be 0 or more");
      } else {
        return InvalidArgument(where +
                               ": unknown field (known: stages, aliases, gates, approvals)");
      }
    } catch (const YAML::Exception& e) {
      return InvalidArgument(where + ": " + e.msg);
    }
  }
  return policy;
}

}  // namespace

StatusOr<Policy> ParsePolicy(const std::string& yaml, const std::string& source) {
  try {
    return ParsePolicyOrThrow(yaml, source);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + " line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgument(source + ": " + e.what());
  }
}

StatusOr<std::optional<Policy>> LoadPolicy(const std::string& dir, const std::string& model) {
  for (const std::string& name : {model + ".yaml", std::string("default.yaml")}) {
    std::filesystem::path path = std::filesystem::path(dir) / name;
    std::ifstream in(path);
    if (!in) continue;
    std::stringstream text;
    text << in.rdbuf();
    ASSIGN_OR_RETURN(Policy policy, ParsePolicy(text.str(), path.string()));
    return std::optional<Policy>(std::move(policy));
  }
  return std::optional<Policy>();
}

GateResult Evaluate(const Gate& gate, const std::map<std::string, double>& candidate,
                    const std::optional<std::map<std::string, double>>& incumbent) {
  auto mine = candidate.find(gate.metric);
  if (mine == candidate.end() || std::isnan(mine->second)) {
    return {false, "the candidate's run has no value for '" + gate.metric + "'"};
  }
  double bound = gate.constant;
  std::string bound_text = Format(bound);
  if (!gate.baseline_metric.empty()) {
    if (!incumbent) return {true, "no production version to compare with yet"};
    auto theirs = incumbent->find(gate.baseline_metric);
    if (theirs == incumbent->end() || std::isnan(theirs->second)) {
      return {true, "the production version has no '" + gate.baseline_metric + "' to compare with"};
    }
    bound = gate.factor * theirs->second;
    bound_text = (gate.factor == 1 ? "" : Format(gate.factor) + " x ") + "production " +
                 Format(theirs->second) + (gate.factor == 1 ? "" : " = " + Format(bound));
  }
  bool passed = Compare(mine->second, gate.op, bound);
  return {passed, gate.metric + " " + Format(mine->second) + " " +
                      (passed ? gate.op : Negated(gate.op)) + " " + bound_text};
}

}  // namespace cairn::governance
