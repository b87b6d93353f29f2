#include "core/log.h"

#include <span>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/mutex.h"

namespace cairn {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};

// Keeps lines from two threads apart on stderr.
Mutex& OutputMutex() {
  static Mutex mu;
  return mu;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendTimestamp(std::string* out) {
  auto now = std::chrono::system_clock::now();
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[96];  // Sized for any int values, so the compiler can prove no truncation.
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis % 1000));
  out->append(buf);
}

}  // namespace

void SetLogLevel(LogLevel level) { g_min_level = static_cast<int>(level); }

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug")
    *level = LogLevel::kDebug;
  else if (text == "info")
    *level = LogLevel::kInfo;
  else if (text == "warn" || text == "warning")
    *level = LogLevel::kWarn;
  else if (text == "error")
    *level = LogLevel::kError;
  else
    return false;
  return true;
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_min_level.load(); }

void AppendJsonEscaped(std::string_view text, std::string* out) {
  for (char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
}

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  Log(level, message, std::span<const LogField>(fields.begin(), fields.size()));
}

void Log(LogLevel level, std::string_view message, std::span<const LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line;
  line.reserve(128);
  line.append("{\"ts\":\"");
  AppendTimestamp(&line);
  line.append("\",\"level\":\"");
  line.append(LevelName(level));
  line.append("\",\"msg\":\"");
  AppendJsonEscaped(message, &line);
  line.push_back('"');
  for (const LogField& field : fields) {
    line.append(",\"");
    AppendJsonEscaped(field.key, &line);
    line.append("\":");
    if (field.quoted) {
      line.push_back('"');
      AppendJsonEscaped(field.value, &line);
      line.push_back('"');
    } else {
      line.append(field.value);
    }
  }
  line.append("}\n");
  MutexLock lock(&OutputMutex());
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

bool LogLimiter::Allow(int64_t now_ns, uint64_t* suppressed) {
  int64_t next = next_ns_.load(std::memory_order_relaxed);
  if (now_ns < next ||
      !next_ns_.compare_exchange_strong(next, now_ns + interval_ns_, std::memory_order_relaxed)) {
    held_back_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  *suppressed = held_back_.exchange(0, std::memory_order_relaxed);
  return true;
}

}  // namespace cairn
