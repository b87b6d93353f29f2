#include "governance/policy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include "core/confined_path.h"
#include "core/strings.h"

namespace cairn::governance {
namespace {

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
    if (EqualsIgnoreCase(s, what)) return true;
  }
  return false;
}

std::string Policy::Fingerprint() const {
  auto lowered = [](const std::vector<std::string>& list) {
    std::set<std::string> out;
    for (const std::string& s : list) out.insert(AsciiLower(s));
    return out;
  };
  std::set<std::string> gate_texts;
  for (const Gate& g : gates) {
    gate_texts.insert(g.metric + g.op + Format(g.constant) + "|" + Format(g.factor) + "*" +
                      g.baseline_metric);
  }
  std::string out = "policy/v1 approvals=" + std::to_string(approvals);
  for (const auto& [label, items] :
       {std::pair{" stages:", lowered(stages)}, std::pair{" aliases:", lowered(aliases)},
        std::pair{" gates:", gate_texts}}) {
    out += label;
    for (const std::string& item : items) out += item + ";";
  }
  return out;
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
  std::string bound(Trim(gate.text.substr(at + gate.op.size())));
  if (gate.metric.empty()) return InvalidArgument("gate '" + gate.text + "': no metric name");
  if (ParseNumber(bound, &gate.constant)) return gate;
  std::string factor_text = "1", reference = bound;
  size_t star = bound.find('*');
  if (star != std::string::npos) {
    std::string left(Trim(bound.substr(0, star))), right(Trim(bound.substr(star + 1)));
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

namespace {

// The text of `name` in `dir`; nullopt if there is no such file. Anything
// else that stops the read is an error naming `name`: a policy that exists
// but cannot be read must not count as none.
StatusOr<std::optional<std::string>> ReadPolicyFile(Env* env, const std::string& dir,
                                                    const std::string& name) {
  // Policies are a few lines; a bigger file is a mistake, not a policy.
  constexpr uint64_t kMaxPolicyBytes = 1 << 20;
  StatusOr<std::string> text = env->ReadFile(dir + "/" + name, kMaxPolicyBytes);
  if (text.ok()) return std::optional<std::string>(std::move(*text));
  if (text.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
  // Paths relative to the folder: server paths stay out of messages.
  std::string reason = StripRoot(text.status().message(), dir);
  if (std::string said = "cannot read " + name + ": "; reason.starts_with(said)) {
    reason.erase(0, said.size());
  }
  return InvalidArgument(name + ": " + reason);
}

}  // namespace

StatusOr<std::optional<Policy>> LoadPolicy(Env* env, const std::string& dir,
                                           const std::string& model) {
  for (const std::string& name : {model + ".yaml", std::string("default.yaml")}) {
    ASSIGN_OR_RETURN(std::optional<std::string> text, ReadPolicyFile(env, dir, name));
    if (!text) continue;
    ASSIGN_OR_RETURN(Policy policy, ParsePolicy(*text, name));
    return std::optional<Policy>(std::move(policy));
  }
  return std::optional<Policy>();
}

StatusOr<std::vector<PolicyFileCheck>> CheckPolicies(Env* env, const std::string& dir) {
  StatusOr<std::vector<std::string>> listed = env->ListDirectory(dir);
  if (!listed.ok() && listed.status().code() == StatusCode::kNotFound) {
    return NotFound("No policies folder at " + dir + ".");
  }
  if (!listed.ok()) {
    return InvalidArgument("Cannot list the policies folder " + dir + ": " +
                           listed.status().message());
  }
  const std::vector<std::string>& names = *listed;  // Sorted.
  std::vector<PolicyFileCheck> out;
  for (const std::string& name : names) {
    auto ends_with = [&](const char* suffix) {
      std::string_view s(suffix);
      return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (ends_with(".yml")) {
      out.push_back({name, InvalidArgument(name + ": never read; policies are named "
                                                  "<model>.yaml or default.yaml")});
      continue;
    }
    if (!ends_with(".yaml")) continue;
    StatusOr<std::optional<std::string>> text = ReadPolicyFile(env, dir, name);
    Status verdict = text.status();
    if (verdict.ok() && *text) verdict = ParsePolicy(**text, name).status();
    out.push_back({name, verdict});
  }
  return out;
}

GateResult Evaluate(const Gate& gate, const std::map<std::string, double>& candidate,
                    const std::optional<std::map<std::string, double>>& incumbent,
                    const std::string& baseline) {
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
      return {true,
              "the " + baseline + " version has no '" + gate.baseline_metric + "' to compare with"};
    }
    bound = gate.factor * theirs->second;
    bound_text = (gate.factor == 1 ? "" : Format(gate.factor) + " x ") + baseline + " " +
                 Format(theirs->second) + (gate.factor == 1 ? "" : " = " + Format(bound));
  }
  bool passed = Compare(mine->second, gate.op, bound);
  return {passed, gate.metric + " " + Format(mine->second) + " " +
                      (passed ? gate.op : Negated(gate.op)) + " " + bound_text};
}

}  // namespace cairn::governance
