// OnlineFeatureSource: feature enrichment for deployments
// (serving/feature_source.h) from the feature store's online serving, in
// process: the same reads, on-demand evaluation and statuses as
// /get-online-features, without the HTTP hop.
//
// Thread-safety: as OnlineServing, safe from any thread.
#pragma once

#include "features/online_serving.h"
#include "serving/feature_source.h"

namespace cairn::enrichment {

class OnlineFeatureSource : public serving::FeatureSource {
 public:
  // `online` must outlive this.
  explicit OnlineFeatureSource(features::OnlineServing* online) : online_(online) {}

  Status CheckService(const std::string& service) override;
  void Enrich(const serving::FeatureEnrichment& spec, const std::vector<std::string>& columns,
              std::vector<serving::Tensor> inputs, EnrichDone done) override;

 private:
  features::OnlineServing* online_;
};

// The model's columns from an online response (exposed for tests): the
// features by name, else the request's entity values, with the missing
// policy applied. Errors: InvalidArgument naming the column or the
// feature without a value and the row's entity values.
StatusOr<std::vector<serving::Tensor>> ModelColumns(const serving::FeatureEnrichment& spec,
                                                    const std::vector<std::string>& columns,
                                                    const features::OnlineRequest& request,
                                                    const features::OnlineResponse& response);

}  // namespace cairn::enrichment
