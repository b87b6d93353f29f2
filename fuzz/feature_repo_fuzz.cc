// Fuzzes the feature-repo YAML loader (definition files users write) and the
// canonical form the registry stores. Beyond "no crash": errors are
// InvalidArgument naming the file; a repo that loads and validates writes out
// canonical YAML that parses back to the very same canonical YAML.
#include <cstddef>
#include <cstdint>
#include <string>

#include "features/repo_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using cairn::features::FeatureRepo;
  std::string text(reinterpret_cast<const char*>(data), size);
  FeatureRepo repo;
  repo.project = "fuzz";
  cairn::Status status = cairn::features::ParseDefinitions(text, "fuzz.yaml", &repo);
  if (status.ok()) status = cairn::features::ValidateRepo(repo);
  if (!status.ok()) {
    if (status.code() != cairn::StatusCode::kInvalidArgument ||
        status.message().find("fuzz.yaml") == std::string::npos) {
      __builtin_trap();
    }
    return 0;
  }
  auto specs = cairn::features::CanonicalSpecs(repo);
  FeatureRepo again;
  for (const auto& spec : specs) {
    if (!cairn::features::ParseSpec(spec, "registry", &again).ok()) __builtin_trap();
  }
  auto specs_again = cairn::features::CanonicalSpecs(again);
  if (specs_again.size() != specs.size()) __builtin_trap();
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].yaml != specs_again[i].yaml) __builtin_trap();
  }
  return 0;
}
