// FeatureSource: where a deployment with feature enrichment
// (FeatureEnrichment in deployment_spec.h) gets its model's inputs from the
// entity keys a request carries. Serving knows no feature store; the server
// plugs the online store in (src/enrichment).
//
// Thread-safety: implementations are called from any thread at once.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "serving/deployment_spec.h"
#include "serving/tensor.h"

namespace cairn::serving {

class FeatureSource {
 public:
  virtual ~FeatureSource() = default;

  // Checked when a deployment is made. Errors: NotFound naming the service
  // (and where to see the ones there are).
  virtual Status CheckService(const std::string& service) = 0;

  // The model's input for a request: one FP64 [N] tensor per name in
  // `columns`, in order, each a feature of `spec.service` for the entities
  // in `inputs` (one value per row: shape [N] or [N, 1], named as join keys
  // and request fields), else the request input of that name. `done` gets
  // it, possibly before this returns or on the store's thread; `spec` and
  // `columns` stay valid until then. Errors: InvalidArgument naming the
  // input, the column or the feature without a value; NotFound for an
  // unknown service; Unavailable when the store fails.
  using EnrichDone = std::function<void(StatusOr<std::vector<Tensor>> model_inputs)>;
  virtual void Enrich(const FeatureEnrichment& spec, const std::vector<std::string>& columns,
                      std::vector<Tensor> inputs, EnrichDone done) = 0;
};

}  // namespace cairn::serving
