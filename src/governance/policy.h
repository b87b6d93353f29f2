// Promotion policies: what a model version must satisfy to enter a guarded
// stage or alias. One YAML file per registered model (<dir>/<name>.yaml),
// else <dir>/default.yaml, else no policy (every move allowed, as MLflow):
//
//   stages: [Production]          # guarded stages (default: [Production])
//   aliases: [champion]           # guarded aliases (default: none)
//   gates:                        # on the candidate's run metrics
//     - rmse <= 0.95 * production.rmse
//     - auc >= 0.8
//   approvals: 2                  # distinct approvers needed (default: 0)
//
// A gate is `<metric> <op> <bound>`, op one of < <= > >= == !=, bound a
// number, `production.<metric>` (the incumbent's value: the version now in
// the stage, or holding the alias), or a number times it.
//
// Thread-safety: pure functions and values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace cairn::governance {

struct Gate {
  std::string text;  // As written, for messages.
  std::string metric;
  std::string op;
  double constant = 0;  // The bound when baseline_metric is empty.
  double factor = 1;    // Otherwise factor * incumbent's baseline_metric.
  std::string baseline_metric;
};

struct Policy {
  std::string source;  // The file it came from.
  std::vector<std::string> stages = {"Production"};
  std::vector<std::string> aliases;
  std::vector<Gate> gates;
  int approvals = 0;

  // Whether `target` ("stage:Production", "alias:champion") is guarded.
  bool Guards(const std::string& target) const;
};

// Errors: InvalidArgument naming `source`, the line and the field.
StatusOr<Policy> ParsePolicy(const std::string& yaml, const std::string& source);
StatusOr<Gate> ParseGate(const std::string& text);

// The policy for `model` from `dir`: its own file, else default.yaml, else
// nullopt. Errors: InvalidArgument for a broken file (the move is refused
// rather than let through unguarded).
StatusOr<std::optional<Policy>> LoadPolicy(const std::string& dir, const std::string& model);

// One gate's verdict. `candidate` and `incumbent` are run metrics; without an
// incumbent (or its metric), a gate relative to production passes: there is
// nothing to beat yet.
struct GateResult {
  bool passed = false;
  std::string explanation;  // e.g. "rmse 0.41 > 0.95 x production 0.40 = 0.38"
};
GateResult Evaluate(const Gate& gate, const std::map<std::string, double>& candidate,
                    const std::optional<std::map<std::string, double>>& incumbent);

}  // namespace cairn::governance
