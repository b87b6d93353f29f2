// Fuzzes the deployment spec (the body of POST /api/cairn/v1/deployments
// and the stored row). Beyond "no crash": refusals are InvalidArgument; an
// accepted spec passes CheckDeploymentSpec and its JSON form reads back to
// the same JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "serving/deployment_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto spec = cairn::serving::ParseDeploymentSpec(body);
  if (!spec.ok()) {
    if (spec.status().code() != cairn::StatusCode::kInvalidArgument) __builtin_trap();
    return 0;
  }
  if (!cairn::serving::CheckDeploymentSpec(*spec).ok()) __builtin_trap();
  const std::string json = cairn::serving::DeploymentSpecJson(*spec);
  auto again = cairn::serving::ParseDeploymentSpec(json);
  if (!again.ok() || cairn::serving::DeploymentSpecJson(*again) != json) __builtin_trap();
  return 0;
}
