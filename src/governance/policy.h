// Promotion policies: what a model version must satisfy to enter a guarded
// stage or alias, and what it takes to give one up. One YAML file per
// registered model (<dir>/<name>.yaml), else <dir>/default.yaml, else no
// policy (every move allowed, as MLflow). A file that exists but cannot be
// read or parsed is an error, never "no policy":
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
// the stage, or holding the alias, else the version last promoted to it),
// or a number times it. Stages and aliases are matched whatever their case
// (MLflow stores aliases as given, so `CHAMPION` and `champion` can both
// exist; a policy guarding one guards every spelling).
//
// Thread-safety: pure functions and values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
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
  std::string source;  // The file it came from, relative to the policies folder.
  std::vector<std::string> stages = {"Production"};
  std::vector<std::string> aliases;
  std::vector<Gate> gates;
  int approvals = 0;

  // Whether `target` ("stage:Production", "alias:champion") is guarded,
  // ignoring case.
  bool Guards(const std::string& target) const;
  // The same for policies that guard and gate alike, whatever their source.
  std::string Fingerprint() const;
};

// Errors: InvalidArgument naming `source`, the line and the field.
StatusOr<Policy> ParsePolicy(const std::string& yaml, const std::string& source);
StatusOr<Gate> ParseGate(const std::string& text);

// The policy for `model` from `dir`: its own file, else default.yaml, else
// nullopt (neither exists, or `dir` does not), read through `env`. Errors: InvalidArgument for a
// file that exists but cannot be read (permissions, not a regular file, an
// unreadable folder) or parsed, naming the file relative to `dir` (server
// paths stay out of messages) and the problem; the move is then refused
// rather than let through unguarded.
StatusOr<std::optional<Policy>> LoadPolicy(Env* env, const std::string& dir,
                                           const std::string& model);

// One file's verdict from CheckPolicies.
struct PolicyFileCheck {
  std::string file;  // Relative to the folder.
  Status status;     // OK, or what is wrong and where.
};
// Reads and validates every policy in `dir` (`cairn policies check`): each
// *.yaml file, and *.yml files (an error: they are never read, policies are
// <model>.yaml). Sorted by file name. Errors: NotFound when `dir` does not
// exist; InvalidArgument when it cannot be listed.
StatusOr<std::vector<PolicyFileCheck>> CheckPolicies(Env* env, const std::string& dir);

// One gate's verdict. `candidate` and `incumbent` are run metrics; without an
// incumbent (or its metric), a gate relative to production passes: there is
// nothing to beat yet. `baseline` names the incumbent in explanations.
struct GateResult {
  bool passed = false;
  std::string explanation;  // e.g. "rmse 0.41 > 0.95 x production 0.40 = 0.38"
};
GateResult Evaluate(const Gate& gate, const std::map<std::string, double>& candidate,
                    const std::optional<std::map<std::string, double>>& incumbent,
                    const std::string& baseline = "production");

}  // namespace cairn::governance
