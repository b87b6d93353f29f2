// Small ASCII string helpers. Unicode-unaware on purpose: they serve
// protocol keywords (stages, "latest", comparators), which are ASCII.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace cairn {

// True if `a` and `b` are equal when ASCII letters are folded to lower case.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// `s` with ASCII letters in lower case; other bytes unchanged.
std::string AsciiLower(std::string_view s);
// `s` without leading and trailing bytes from `blanks` (by default spaces
// and tabs, HTTP's optional whitespace).
std::string_view Trim(std::string_view s, std::string_view blanks = " \t");

// The value of a hexadecimal digit (0-15), or -1 for any other byte.
int HexDigitValue(char c);
// `text` with %XX escapes decoded again and again until none is left (at
// most 10 rounds, as MLflow's path checks decode), so that %252e%252e hides
// no "..". A '%' not followed by two hex digits is kept as it is.
std::string FullyPercentDecoded(std::string text);

}  // namespace cairn
