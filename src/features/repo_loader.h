// Reads a feature repo from YAML and checks it, and writes each definition
// back as canonical YAML (what the registry stores and `plan` compares).
//
// A repo is a folder holding cairn_features.yaml (`project:` and, if wished,
// definitions) and any number of *.yaml / *.yml definition files beneath it.
// A definition file has top-level lists `entities`, `sources`,
// `feature_views`, `on_demand_feature_views` and `feature_services`; see
// docs/features.md for every field. Unknown fields are errors, so a typo never
// silently becomes a default.
//
// Every error names the file, the line and the field, e.g.
//   "defs/driver.yaml:14: feature_views[0].ttl: '1 day' is not a duration; ..."
//
// Thread-safety: free functions over values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "features/definitions.h"

namespace cairn::features {

inline constexpr char kRepoConfigFile[] = "cairn_features.yaml";

// Loads and validates the repo in folder `root`, read through `env`.
// Errors: NotFound when root has no cairn_features.yaml; InvalidArgument
// naming file, line and field for anything malformed or inconsistent, or
// a file that cannot be read.
StatusOr<FeatureRepo> LoadRepo(Env* env, const std::string& root);

// Adds the definitions in one YAML document to `repo`. `file` names it in errors.
Status ParseDefinitions(std::string_view yaml, std::string_view file, FeatureRepo* repo);

// Checks a whole repo: unique names per kind, references that resolve
// (entities, sources, views, features), join keys and features that do not
// collide, services that name real features. Errors: InvalidArgument naming
// the object's origin and field.
Status ValidateRepo(const FeatureRepo& repo);

// The kinds of definition, as the YAML lists name them.
inline constexpr std::string_view kEntityKind = "entities";
inline constexpr std::string_view kSourceKind = "sources";
inline constexpr std::string_view kFeatureViewKind = "feature_views";
inline constexpr std::string_view kOnDemandKind = "on_demand_feature_views";
inline constexpr std::string_view kFeatureServiceKind = "feature_services";

// One definition in canonical form: a YAML mapping with fields in a fixed
// order and defaults left out, so equal definitions have equal text.
struct DefinitionSpec {
  std::string kind;  // one of the k*Kind names
  std::string name;
  std::string yaml;
};

// Every definition of `repo`, in kind order then declaration order.
std::vector<DefinitionSpec> CanonicalSpecs(const FeatureRepo& repo);

// Parses one canonical (or hand-written) definition of `kind` into `repo`.
Status ParseSpec(const DefinitionSpec& spec, std::string_view origin, FeatureRepo* repo);

}  // namespace cairn::features
