// JSON for the whole codebase: RapidJSON (chosen by bench/json_bench, figures
// in docs/json-library.md). This header fixes the configuration every user
// must share and adds the few helpers Cairn needs on top.
//
// Include it only where JSON is read or written; it is not small.
#pragma once

#ifndef RAPIDJSON_HAS_STDSTRING
#define RAPIDJSON_HAS_STDSTRING 1
#endif
// Protocol bodies may carry deep nesting only by mistake or malice; RapidJSON
// parses iteratively with kParseIterativeFlag so depth cannot overflow the stack.
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cairn::json {

using Document = rapidjson::Document;
using Value = rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using Buffer = rapidjson::StringBuffer;

// Parse flags used for every request body: iterative (no recursion), bare
// NaN/Infinity accepted because Python's json module writes them, and full
// precision so a logged double reads back bit-for-bit (without it about one
// value in ten comes back 1 ULP off; see docs/json-library.md).
inline constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag |
                                        rapidjson::kParseNanAndInfFlag |
                                        rapidjson::kParseFullPrecisionFlag;

// Parses `text` into `doc`. On failure returns InvalidArgument naming the
// offset and the problem, e.g. "Malformed JSON at offset 12: Missing a colon".
inline Status Parse(std::string_view text, Document* doc) {
  doc->Parse<kParseFlags>(text.data(), text.size());
  if (doc->HasParseError()) {
    return InvalidArgument("Malformed JSON at offset " + std::to_string(doc->GetErrorOffset()) +
                           ": " + rapidjson::GetParseError_En(doc->GetParseError()));
  }
  return Status::Ok();
}

// Writes a double the way protobuf's JSON mapping does: finite values as
// numbers, non-finite ones as the strings "NaN", "Infinity", "-Infinity".
inline void WriteDouble(Writer& w, double v) {
  if (std::isnan(v)) {
    w.String("NaN");
  } else if (std::isinf(v)) {
    w.String(v > 0 ? "Infinity" : "-Infinity");
  } else {
    w.Double(v);
  }
}

inline void WriteString(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

inline void WriteKey(Writer& w, std::string_view s) {
  w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace cairn::json
