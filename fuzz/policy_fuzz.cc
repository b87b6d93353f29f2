// Fuzzes the promotion-policy parser (YAML files operators write) and the
// gate evaluator. Beyond "no crash": errors are InvalidArgument naming the
// source; a parsed policy's gates evaluate without trapping on any metrics.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "governance/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto policy = cairn::governance::ParsePolicy(text, "fuzz.yaml");
  if (!policy.ok()) {
    if (policy.status().code() != cairn::StatusCode::kInvalidArgument ||
        policy.status().message().find("fuzz.yaml") == std::string::npos) {
      __builtin_trap();
    }
    return 0;
  }
  std::map<std::string, double> candidate = {{"rmse", 0.4}, {"auc", 0.9}};
  std::map<std::string, double> incumbent = {{"rmse", 0.5}};
  for (const auto& gate : policy->gates) {
    cairn::governance::Evaluate(gate, candidate, incumbent);
    cairn::governance::Evaluate(gate, candidate, std::nullopt);
  }
  policy->Guards("stage:Production");
  policy->Guards("alias:champion");
  return 0;
}
