// Structured logging: one JSON object per line on stderr, so logs can be
// shipped and queried without parsing free text.
//
//   LogInfo("server listening", {{"host", host}, {"port", port}});
//   -> {"ts":"2026-11-23T10:00:00.123Z","level":"info","msg":"server
//   listening","host":"127.0.0.1","port":5000}
//
// Thread-safety: all functions may be called from any thread; lines never interleave.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace cairn {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// One key/value of a log line. Numbers are written unquoted.
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, int64_t v) : key(k), value(std::to_string(v)), quoted(false) {}
  LogField(std::string_view k, int v) : key(k), value(std::to_string(v)), quoted(false) {}
  LogField(std::string_view k, uint64_t v) : key(k), value(std::to_string(v)), quoted(false) {}
  LogField(std::string_view k, double v) : key(k), value(std::to_string(v)), quoted(false) {}

  std::string_view key;
  std::string value;
  bool quoted = true;
};

void SetLogLevel(LogLevel level);
// Parses "debug", "info", "warn", "error"; returns false if unknown.
bool ParseLogLevel(std::string_view text, LogLevel* level);
bool LogEnabled(LogLevel level);

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
// The same with fields gathered at run time (a list built by several parts).
void Log(LogLevel level, std::string_view message, std::span<const LogField> fields);
inline void LogDebug(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kDebug, m, f);
}
inline void LogInfo(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, m, f);
}
inline void LogWarn(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarn, m, f);
}
inline void LogError(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, m, f);
}

// Lets a repeated log line through at most once per interval, counting the
// ones it held back, so that a failure repeating in a tight loop (accept on
// a full descriptor table) cannot fill the disk with logs.
// Thread-safety: Allow may be called from any thread.
class LogLimiter {
 public:
  explicit LogLimiter(int64_t interval_ns) : interval_ns_(interval_ns) {}
  // True when a line may be written at `now_ns` (monotonic); then
  // `*suppressed` is how many were held back since the last one.
  bool Allow(int64_t now_ns, uint64_t* suppressed);

 private:
  const int64_t interval_ns_;
  std::atomic<int64_t> next_ns_{0};
  std::atomic<uint64_t> held_back_{0};
};

// Appends `text` to `out` escaped for a JSON string body (no surrounding quotes).
void AppendJsonEscaped(std::string_view text, std::string* out);

}  // namespace cairn
