// Tensors as JSON text: the element lists of the v2 protocol's "data"
// (flat, row-major), and whole tensors as the payload log writes them.
// Non-finite floats are written bare (NaN, Infinity), as Python's json
// module writes and reads them, which is what KServe's Python servers do.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "serving/tensor.h"

namespace cairn::serving {

// Appends `t`'s elements as a flat JSON list; float32 in its shortest
// round-trip form, BOOL as true/false, BYTES as strings.
void AppendTensorData(std::string& out, const Tensor& t);

// Appends {"name":..,"datatype":..,"shape":[..],"data":[..]}.
void AppendTensorJson(std::string& out, const Tensor& t);

}  // namespace cairn::serving
