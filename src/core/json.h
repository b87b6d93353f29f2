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

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/log.h"
#include "core/status.h"

namespace cairn::json {

// RapidJSON's memory pool, starting small. Its default first block is 64 KiB
// and a document's parse stack 1 KiB; glibc serves blocks of 1 KiB and more
// from its large bins after sweeping the fast bins (malloc_consolidate), which
// took a fifth of the CPU of a small request (one parse per request body).
class Pool : public rapidjson::MemoryPoolAllocator<> {
 public:
  explicit Pool(size_t chunk_bytes = 960) : rapidjson::MemoryPoolAllocator<>(chunk_bytes) {}
  // Allocates from `buffer` first (not owned), then from chunks of its size.
  Pool(void* buffer, size_t size) : rapidjson::MemoryPoolAllocator<>(buffer, size, size) {}
};

using Value = rapidjson::GenericValue<rapidjson::UTF8<>, Pool>;

class Document : public rapidjson::GenericDocument<rapidjson::UTF8<>, Pool> {
  using Base = rapidjson::GenericDocument<rapidjson::UTF8<>, Pool>;
  static constexpr size_t kStackBytes = 512;  // grows as deep or long documents need

 public:
  Document() : Base(nullptr, kStackBytes) {}
  explicit Document(rapidjson::Type type) : Base(type, nullptr, kStackBytes) {}
  explicit Document(Pool* pool) : Base(pool, kStackBytes) {}  // `pool` outlives the document
  Document(Document&&) = default;
  Document& operator=(Document&&) = default;
};
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using Buffer = rapidjson::StringBuffer;

// Parse flags used for every request body: iterative (no recursion), bare
// NaN/Infinity accepted because Python's json module writes them, and full
// precision so a logged double reads back bit-for-bit (without it about one
// value in ten comes back 1 ULP off; see docs/json-library.md).
inline constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag |
                                        rapidjson::kParseNanAndInfFlag |
                                        rapidjson::kParseFullPrecisionFlag;

// RapidJSON 1.1's full-precision reader (Debian bookworm's) mishandles
// numbers below about 1e-320: it returns NaN or garbage, and with enough
// leading zeros ("0.000…0715", 340 zeros) reads far past a table and
// crashes (found by v2_request_fuzz). Such a number needs either a run of
// leading zeros or a negative exponent of 300 or more, which this finds in
// one pass; a body holding one is read with the normal-precision reader,
// which is safe and differs only in the last bit of some values.
inline bool MayHoldTinyNumber(std::string_view text) {
  if (text.find("0000000000000000") != std::string_view::npos) return true;
  for (size_t minus = text.find('-'); minus != std::string_view::npos;
       minus = text.find('-', minus + 1)) {
    if (minus == 0 || (text[minus - 1] != 'e' && text[minus - 1] != 'E')) continue;
    size_t i = minus + 1;
    while (i < text.size() && text[i] == '0') ++i;
    size_t digits = 0;
    int exponent = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 4; ++i, ++digits) {
      exponent = exponent * 10 + (text[i] - '0');
    }
    if (exponent >= 300) return true;
  }
  return false;
}

// Parses `text` into `doc`. On failure returns InvalidArgument naming the
// offset and the problem, e.g. "Malformed JSON at offset 12: Missing a colon".
inline Status Parse(std::string_view text, Document* doc) {
  if (MayHoldTinyNumber(text)) {
    doc->Parse<kParseFlags & ~rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  } else {
    doc->Parse<kParseFlags>(text.data(), text.size());
  }
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

// Appenders for hot paths that format JSON text themselves and hand it to a
// Writer whole with RawValue (large metric lists): JSON equal in value to the
// Writer's, without its per-token bookkeeping.

// A JSON string literal, escaped as log lines are (core/log.h), UTF-8 passed
// through as the Writer does.
inline void AppendString(std::string& out, std::string_view s) {
  out += '"';
  AppendJsonEscaped(s, &out);
  out += '"';
}

// Writes `v` at `out` (room for kMaxNumberChars) and returns the end.
inline constexpr size_t kMaxNumberChars = 32;
inline char* FormatInt(char* out, int64_t v) {
  return std::to_chars(out, out + kMaxNumberChars, v).ptr;
}

// As WriteDouble: shortest round-trip form, always with a '.' or exponent so
// the value reads back as a float; non-finite values as protobuf's strings.
// Writes at `out` (room for kMaxNumberChars) and returns the end.
inline char* FormatDouble(char* out, double v) {
  auto copy = [out](std::string_view text) { return std::copy(text.begin(), text.end(), out); };
  if (std::isnan(v)) return copy("\"NaN\"");
  if (std::isinf(v)) return copy(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  char* end = std::to_chars(out, out + kMaxNumberChars, v).ptr;
  if (std::string_view(out, static_cast<size_t>(end - out)).find_first_of(".e") ==
      std::string_view::npos) {
    *end++ = '.';
    *end++ = '0';
  }
  return end;
}

inline void AppendInt(std::string& out, int64_t v) {
  char buf[kMaxNumberChars];
  out.append(buf, FormatInt(buf, v));
}

inline void AppendDouble(std::string& out, double v) {
  char buf[kMaxNumberChars];
  out.append(buf, FormatDouble(buf, v));
}

inline void WriteString(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

inline void WriteKey(Writer& w, std::string_view s) {
  w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace cairn::json
