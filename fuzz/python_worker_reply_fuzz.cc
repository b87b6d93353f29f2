// Fuzzes the decoder of a Python worker's replies (python_model.h): the
// JSON header and the tensors' bytes after it. A worker runs the model's
// own code, so its replies are read as untrusted. Beyond "no crash": a
// refusal is InvalidArgument or Internal, and every decoded tensor holds
// exactly what its shape says.
#include <cstddef>
#include <cstdint>
#include <string>

#include "serving/python_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto outputs =
      cairn::serving::DecodeWorkerReply(std::string(reinterpret_cast<const char*>(data), size));
  if (!outputs.ok()) {
    const cairn::StatusCode code = outputs.status().code();
    if (code != cairn::StatusCode::kInvalidArgument && code != cairn::StatusCode::kInternal) {
      __builtin_trap();
    }
    return 0;
  }
  for (const cairn::serving::Tensor& t : *outputs) {
    if (!cairn::serving::CheckShape(t, "output").ok()) __builtin_trap();
  }
  return 0;
}
