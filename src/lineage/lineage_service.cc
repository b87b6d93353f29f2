#include "lineage/lineage_service.h"

#include <functional>
#include <map>
#include <set>

namespace cairn::lineage {

namespace {

std::string VersionId(const std::string& name, int64_t version) {
  return "models:/" + name + "/" + std::to_string(version);
}

void AddNode(Graph* g, Node node) {
  for (const Node& n : g->nodes) {
    if (n.id == node.id) return;
  }
  g->nodes.push_back(std::move(node));
}

constexpr char kHidden[] = "not readable by you";

bool MayReadExperiment(const Viewer& viewer, const std::string& experiment_id) {
  return !viewer.may_read_experiment || viewer.may_read_experiment(experiment_id);
}

bool MayReadModel(const Viewer& viewer, const std::string& name) {
  return !viewer.may_read_model || viewer.may_read_model(name);
}

Node VersionNode(const registry::ModelVersion& v) {
  Node n{VersionId(v.name, v.version),
         "model_version",
         v.name + " version " + std::to_string(v.version),
         {}};
  n.attributes.emplace_back("stage", std::string(registry::StageName(v.stage)));
  std::string aliases;
  for (const auto& a : v.aliases) aliases += (aliases.empty() ? "" : ", ") + a;
  if (!aliases.empty()) n.attributes.emplace_back("aliases", aliases);
  n.attributes.emplace_back("source", v.source);
  if (v.storage_location != v.source) n.attributes.emplace_back("files", v.storage_location);
  return n;
}

}  // namespace

LineageService::LineageService(registry::RegistryService* registry,
                               tracking::TrackingService* tracking,
                               tracking::LoggedModelService* logged_models)
    : registry_(registry), tracking_(tracking), logged_models_(logged_models) {}

StatusOr<Graph> LineageService::ForModel(const std::string& uri, const Viewer& viewer) {
  ASSIGN_OR_RETURN(registry::ResolvedModel resolved, registry_->ResolveModelUri(uri));
  if (!resolved.version && !resolved.model_id.empty()) {
    return ForLoggedModel(resolved.model_id, viewer);
  }
  if (!resolved.version) {
    return InvalidArgument("'" + uri +
                           "' names no model: use models:/<name>/<version>, "
                           "models:/<name>@<alias>, models:/<name>/<stage> or models:/m-<id>.");
  }
  // Aliases come with a version read by number.
  ASSIGN_OR_RETURN(registry::ModelVersion version,
                   registry_->GetModelVersion(resolved.version->name,
                                              std::to_string(resolved.version->version)));
  Graph g;
  g.root = VersionId(version.name, version.version);
  AddNode(&g, VersionNode(version));

  if (!version.model_id.empty()) {
    Node n = LoggedModelNode(version.model_id, viewer);
    AddNode(&g, n);
    g.edges.push_back({n.id, g.root, "registered from"});
  }
  if (!version.run_id.empty()) AddRun(&g, version.run_id, g.root, viewer);
  RETURN_IF_ERROR(AddVersionsRegisteredFrom(&g, g.root, viewer));
  for (const DownstreamSource& source : downstream_) {
    source(version.name, version.version, g.root, &g);
  }
  return g;
}

StatusOr<Graph> LineageService::ForLoggedModel(const std::string& model_id, const Viewer& viewer) {
  ASSIGN_OR_RETURN(tracking::LoggedModel model, logged_models_->Get(model_id));
  Graph g;
  Node root = LoggedModelNode(model_id, viewer);
  g.root = root.id;
  AddNode(&g, root);
  if (!model.source_run_id.empty()) AddRun(&g, model.source_run_id, g.root, viewer);
  // Downstream: versions registered from models:/m-<id>.
  RETURN_IF_ERROR(AddVersionsRegisteredFrom(&g, "models:/" + model_id, viewer));
  return g;
}

Node LineageService::LoggedModelNode(const std::string& model_id, const Viewer& viewer) {
  Node n{"logged_model:" + model_id, "logged_model", "logged model " + model_id, {}};
  auto model = logged_models_->Get(model_id);
  if (model.ok()) {
    if (!MayReadExperiment(viewer, model->experiment_id)) {
      n.label = "logged model " + model_id + " (" + kHidden + ")";
      return n;
    }
    n.label = "logged model " + model->name + " (" + model_id + ")";
    n.attributes.emplace_back("artifacts", model->artifact_uri);
  }
  return n;
}

void LineageService::AddRun(Graph* g, const std::string& run_id, const std::string& produced,
                            const Viewer& viewer) {
  auto run = tracking_->GetRun(run_id);
  Node r{"run:" + run_id, "run", "run " + run_id, {}};
  if (!run.ok() && run.status().code() == StatusCode::kNotFound) {
    // Registered from tracking elsewhere: only its id is known here.
    r.label = "run " + run_id + " (not on this server)";
    r.attributes.emplace_back("tracked", "not on this server");
  } else if (run.ok() && !MayReadExperiment(viewer, run->info.experiment_id)) {
    // Its id is on the version already; nothing else about it is shown.
    r.label = "run " + run_id + " (" + kHidden + ")";
  } else if (run.ok()) {
    r.label = "run " + run->info.run_name + " (" + run_id + ")";
    r.attributes.emplace_back("status", run->info.status);
    r.attributes.emplace_back("user", run->info.user_id);
    auto experiment = tracking_->GetExperiment(run->info.experiment_id);
    Node e{"experiment:" + run->info.experiment_id,
           "experiment",
           "experiment " + (experiment.ok() ? experiment->name : run->info.experiment_id),
           {}};
    AddNode(g, e);
    g->edges.push_back({r.id, e.id, "in"});
    for (const tracking::DatasetInput& input : run->dataset_inputs) {
      const tracking::Dataset& d = input.dataset;
      Node dn{"dataset:" + d.name + "@" + d.digest, "dataset", "dataset " + d.name, {}};
      dn.attributes.emplace_back("digest", d.digest);
      dn.attributes.emplace_back("source", d.source_type + " " + d.source);
      for (const auto& tag : input.tags) {
        if (tag.key == "mlflow.data.context") dn.attributes.emplace_back("context", tag.value);
      }
      AddNode(g, dn);
      g->edges.push_back({dn.id, r.id, "read"});
    }
    for (const tracking::RunModelLink& m : run->model_inputs) {
      Node mn{"logged_model:" + m.model_id, "logged_model", "logged model " + m.model_id, {}};
      AddNode(g, mn);
      g->edges.push_back({mn.id, r.id, "consumed"});
    }
  }
  AddNode(g, r);
  g->edges.push_back({r.id, produced, "produced"});
}

Status LineageService::AddVersionsRegisteredFrom(Graph* g, const std::string& source,
                                                 const Viewer& viewer) {
  registry::SearchRequest derived;
  derived.filter = "source_path = '" + source + "'";
  derived.max_results = 1000;
  ASSIGN_OR_RETURN(auto page, registry_->SearchModelVersions(derived));
  for (const registry::ModelVersion& v : page.versions) {
    if (!MayReadModel(viewer, v.name)) continue;
    AddNode(g, VersionNode(v));
    g->edges.push_back({g->root, VersionId(v.name, v.version), "registered as"});
  }
  return Status::Ok();
}

std::string RenderTree(const Graph& graph) {
  std::map<std::string, const Node*> nodes;
  for (const Node& n : graph.nodes) nodes[n.id] = &n;
  auto describe = [&](const std::string& id) {
    auto it = nodes.find(id);
    if (it == nodes.end()) return id;
    std::string text = it->second->label;
    for (const auto& [k, v] : it->second->attributes) {
      if (!v.empty()) text += ", " + k + " " + v;
    }
    return text;
  };
  // How an upstream node relates to the one it flows into, read from there.
  auto phrase = [](const std::string& relation) {
    return relation == "produced" ? std::string("produced by") : relation;
  };
  std::string out = describe(graph.root) + "\n";
  std::set<std::string> seen = {graph.root};
  std::function<void(const std::string&, const std::string&)> up = [&](const std::string& id,
                                                                       const std::string& indent) {
    std::vector<const Edge*> in;
    for (const Edge& e : graph.edges) {
      if (e.to == id && e.relation != "in" && !seen.contains(e.from)) in.push_back(&e);
    }
    for (size_t i = 0; i < in.size(); ++i) {
      bool last = i + 1 == in.size();
      const std::string& from = in[i]->from;
      seen.insert(from);
      std::string child_indent = indent + (last ? "    " : "│   ");
      out +=
          indent + (last ? "└── " : "├── ") + phrase(in[i]->relation) + " " + describe(from) + "\n";
      // What the node belongs to (a run's experiment), right under it.
      for (const Edge& e : graph.edges) {
        if (e.from == from && e.relation == "in") {
          out += child_indent + "(in " + describe(e.to) + ")\n";
        }
      }
      up(from, child_indent);
    }
  };
  up(graph.root, "");
  std::vector<const Edge*> down;
  for (const Edge& e : graph.edges) {
    if (e.from == graph.root) down.push_back(&e);
  }
  if (down.empty()) {
    out += "downstream: nothing yet (versions registered from it, deployments serving it)\n";
  }
  for (const Edge* e : down) out += "downstream: " + e->relation + " " + describe(e->to) + "\n";
  return out;
}

}  // namespace cairn::lineage
