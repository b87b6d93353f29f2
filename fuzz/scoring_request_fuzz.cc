// Fuzzes MLflow's scoring request decoders (/invocations bodies, JSON and
// CSV) and the prediction encoder. Beyond "no crash": refusals are
// InvalidArgument; every decoded tensor holds what its shape says.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scoring/scoring_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (bool csv : {false, true}) {
    auto request =
        csv ? cairn::scoring::ParseScoringCsv(body) : cairn::scoring::ParseScoringJson(body);
    if (!request.ok()) {
      if (request.status().code() != cairn::StatusCode::kInvalidArgument) __builtin_trap();
      continue;
    }
    for (const cairn::serving::Tensor& t : request->inputs) {
      if (!cairn::serving::CheckShape(t, "input").ok()) __builtin_trap();
    }
    (void)cairn::scoring::WritePredictions(request->inputs);
  }
  return 0;
}
