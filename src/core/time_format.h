// Timestamps as text: RFC 3339 in UTC for output, and the forms people and
// tools send (RFC 3339 / ISO 8601 with 'T' or a space, optional fraction and
// offset; a bare date) for input. Microsecond precision throughout.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cairn {

// "2026-01-31T12:00:00Z", with ".ffffff" (3 or 6 digits, as needed) when
// the time has a fraction of a second: protobuf's JSON form of a Timestamp.
std::string FormatRfc3339(int64_t micros);

// Parses "2026-01-31", "2026-01-31 12:00:00", "2026-01-31T12:00:00.25Z",
// "2026-01-31T14:00:00+02:00", ... ; no offset means UTC.
// Errors: InvalidArgument quoting the text and showing the expected form.
StatusOr<int64_t> ParseTimestampMicros(std::string_view text);

}  // namespace cairn
