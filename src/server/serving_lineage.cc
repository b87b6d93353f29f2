#include "server/serving_lineage.h"

namespace cairn::server {

void AddServingLineage(lineage::LineageService* lineage,
                       std::function<std::vector<ServedVersion>()> served) {
  lineage->AddDownstreamSource(
      [served = std::move(served)](const std::string& model, int64_t version,
                                   const std::string& version_id, lineage::Graph* graph) {
        for (const ServedVersion& s : served()) {
          if (s.registered_model != model || s.version != std::to_string(version)) continue;
          lineage::Node node;
          node.id = "deployment:" + s.deployment + "/" + s.variant;
          node.kind = "deployment";
          node.label = "deployment " + s.deployment + " (variant " + s.variant +
                       (s.shadow ? ", shadow" : ", weight " + std::to_string(s.weight)) + ")";
          node.attributes = {
              {"deployment", s.deployment}, {"variant", s.variant}, {"model_uri", s.model_uri}};
          graph->nodes.push_back(std::move(node));
          graph->edges.push_back({version_id, graph->nodes.back().id, "served by"});
        }
      });
}

}  // namespace cairn::server
