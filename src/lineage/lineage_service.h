// LineageService: where a model version came from and what came of it, as a
// graph: upstream, the run that produced it (with its experiment), the
// datasets that run read (with digests), the logged model it was registered
// from and the models the run consumed; downstream, the versions registered
// from it and the deployments serving it (a downstream source the serving
// module adds). The node kinds are open for more (feature views).
//
// A graph shows only what its viewer may read: a run or logged model in an
// experiment the viewer may not read appears by id as "not readable by you",
// without its name, experiment, datasets or consumed models; versions of
// registered models the viewer may not read are left out downstream.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "registry/registry_service.h"
#include "tracking/logged_model_service.h"
#include "tracking/tracking_service.h"

namespace cairn::lineage {

struct Node {
  std::string id;    // "models:/churn/3", "run:<id>", "dataset:<name>@<digest>", ...
  std::string kind;  // model_version, run, experiment, dataset, logged_model
  std::string label;
  std::vector<std::pair<std::string, std::string>> attributes;
};

struct Edge {
  std::string from;
  std::string to;
  std::string relation;  // "produced", "read", "registered from", "in", "consumed", "served by"
};

// What the viewer of a graph may read. A null check allows everything (no
// authentication, or the local CLI).
struct Viewer {
  std::function<bool(const std::string& experiment_id)> may_read_experiment;
  std::function<bool(const std::string& model_name)> may_read_model;
};

struct Graph {
  std::string root;
  std::vector<Node> nodes;
  std::vector<Edge> edges;  // Directed as data flows: dataset -> run -> model version.
};

class LineageService {
 public:
  // The services must outlive this one.
  LineageService(registry::RegistryService* registry, tracking::TrackingService* tracking,
                 tracking::LoggedModelService* logged_models);

  // The graph around the model `uri` names: a registered version
  // (models:/name/3, @alias, /Stage) or a logged model (models:/m-<id>),
  // upstream to the run that produced it, downstream to the versions
  // registered from it. Errors: NotFound for an unknown model, version or
  // alias; InvalidArgument for a URI that names no model (runs:/).
  // Only what `viewer` may read is shown (see above); the caller checks
  // read access to the root model itself.
  StatusOr<Graph> ForModel(const std::string& uri, const Viewer& viewer = {});

  // What else uses a model version (deployments serving it, ...): each
  // source adds its nodes, with edges from the version's node `version_id`.
  // Sources are added at start-up, before graphs are asked for.
  using DownstreamSource = std::function<void(const std::string& model_name, int64_t version,
                                              const std::string& version_id, Graph* graph)>;
  void AddDownstreamSource(DownstreamSource source) { downstream_.push_back(std::move(source)); }

 private:
  StatusOr<Graph> ForLoggedModel(const std::string& model_id, const Viewer& viewer);
  Node LoggedModelNode(const std::string& model_id, const Viewer& viewer);
  // The run `run_id` (with its experiment, the datasets it read and the
  // models it consumed) as the producer of node `produced`.
  void AddRun(Graph* g, const std::string& run_id, const std::string& produced,
              const Viewer& viewer);
  // Versions whose source is `source`, downstream of the root.
  Status AddVersionsRegisteredFrom(Graph* g, const std::string& source, const Viewer& viewer);

  registry::RegistryService* registry_;
  tracking::TrackingService* tracking_;
  tracking::LoggedModelService* logged_models_;
  std::vector<DownstreamSource> downstream_;
};

// The graph as an indented tree from its root: upstream first, then downstream.
std::string RenderTree(const Graph& graph);

}  // namespace cairn::lineage
