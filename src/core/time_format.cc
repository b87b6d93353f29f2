#include "core/time_format.h"

#include <cstdio>

namespace cairn {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;

bool Digits(std::string_view text, size_t pos, size_t count, int* out) {
  if (pos + count > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil), so no time zone database or locale is involved.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// The inverse: the civil date of a day count (civil_from_days), no locale
// or time zone database involved.
void CivilFromDays(int64_t z, int64_t* year, unsigned* month, unsigned* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = static_cast<int64_t>(yoe) + era * 400 + (*month <= 2);
}

}  // namespace

std::string FormatRfc3339(int64_t micros) {
  int64_t seconds = micros / kMicrosPerSecond;
  int64_t fraction = micros % kMicrosPerSecond;
  if (fraction < 0) {
    fraction += kMicrosPerSecond;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  int64_t year;
  unsigned month, day;
  CivilFromDays(days, &year, &month, &day);
  // Digits by hand: this runs once per served timestamp, and printf's
  // format parsing cost more than everything else around it.
  char buffer[40];
  char* p = buffer;
  auto put = [&p](int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
    p += width;
  };
  if (year < 0 || year > 9999) {
    p += std::snprintf(p, 16, "%lld", static_cast<long long>(year));
  } else {
    put(year, 4);
  }
  *p++ = '-';
  put(month, 2);
  *p++ = '-';
  put(day, 2);
  *p++ = 'T';
  put(rest / 3600, 2);
  *p++ = ':';
  put(rest / 60 % 60, 2);
  *p++ = ':';
  put(rest % 60, 2);
  if (fraction != 0) {
    *p++ = '.';
    if (fraction % 1000 == 0) {
      put(fraction / 1000, 3);
    } else {
      put(fraction, 6);
    }
  }
  *p++ = 'Z';
  return std::string(buffer, p);
}

StatusOr<int64_t> ParseTimestampMicros(std::string_view text) {
  // Built only on failure: parsing runs per value of pushed and loaded data.
  auto bad = [text] {
    return InvalidArgument("'" + std::string(text) +
                           "' is not a timestamp; expected e.g. 2026-01-31T12:00:00Z, "
                           "2026-01-31 12:00:00.5+02:00 or 2026-01-31");
  };
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!Digits(text, 0, 4, &year) || text.size() < 10 || text[4] != '-' ||
      !Digits(text, 5, 2, &month) || text[7] != '-' || !Digits(text, 8, 2, &day) || month < 1 ||
      month > 12 || day < 1 || day > 31) {
    return bad();
  }
  size_t pos = 10;
  int64_t fraction = 0;
  int64_t offset_seconds = 0;
  if (pos < text.size()) {
    if ((text[pos] != 'T' && text[pos] != ' ') || !Digits(text, pos + 1, 2, &hour) ||
        text.size() < pos + 9 || text[pos + 3] != ':' || !Digits(text, pos + 4, 2, &minute) ||
        text[pos + 6] != ':' || !Digits(text, pos + 7, 2, &second) || hour > 23 || minute > 59 ||
        second > 60) {
      return bad();
    }
    pos += 9;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      int64_t scale = 100'000;
      size_t start = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (scale > 0) fraction += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return bad();
    }
    if (pos < text.size()) {
      if (text[pos] == 'Z' && pos + 1 == text.size()) {
        pos += 1;
      } else if ((text[pos] == '+' || text[pos] == '-') && text.size() == pos + 6 &&
                 text[pos + 3] == ':') {
        int oh, om;
        if (!Digits(text, pos + 1, 2, &oh) || !Digits(text, pos + 4, 2, &om)) return bad();
        offset_seconds = (oh * 3600 + om * 60) * (text[pos] == '+' ? 1 : -1);
        pos += 6;
      } else {
        return bad();
      }
    }
  }
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return seconds * kMicrosPerSecond + fraction;
}

}  // namespace cairn
