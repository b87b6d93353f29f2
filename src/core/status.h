// Status and StatusOr<T>: Cairn's one error model.
//
// A Status is either OK or a (code, message) pair. The codes are a small fixed
// set; each protocol surface (MLflow, Feast, V2, ...) maps them to its own
// error format in one place. Messages are written for the user: they name the
// field or item at fault and, where possible, the fix.
//
// Thread-safety: values; safe to copy and move between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cairn {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // The request is malformed or a value is out of range.
  kNotFound,            // The named resource does not exist.
  kAlreadyExists,       // Creating something whose key is taken.
  kFailedPrecondition,  // The resource is in the wrong state for the operation.
  kPermissionDenied,    // Authenticated, but not allowed.
  kUnauthenticated,     // No or bad credentials.
  kResourceExhausted,   // A limit was hit (size, count, rate).
  kUnimplemented,       // The operation is deliberately not supported.
  kUnavailable,         // Transient: retrying may succeed.
  kInternal,            // A bug or an unexpected failure of a dependency.
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "INVALID_ARGUMENT: message", for logs.
  std::string ToString() const;

  // Drops the status explicitly, for the rare call whose failure is harmless.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string message) {
  return {StatusCode::kInvalidArgument, std::move(message)};
}
inline Status NotFound(std::string message) { return {StatusCode::kNotFound, std::move(message)}; }
inline Status AlreadyExists(std::string message) {
  return {StatusCode::kAlreadyExists, std::move(message)};
}
inline Status FailedPrecondition(std::string message) {
  return {StatusCode::kFailedPrecondition, std::move(message)};
}
inline Status PermissionDenied(std::string message) {
  return {StatusCode::kPermissionDenied, std::move(message)};
}
inline Status Unauthenticated(std::string message) {
  return {StatusCode::kUnauthenticated, std::move(message)};
}
inline Status ResourceExhausted(std::string message) {
  return {StatusCode::kResourceExhausted, std::move(message)};
}
inline Status Unimplemented(std::string message) {
  return {StatusCode::kUnimplemented, std::move(message)};
}
inline Status Unavailable(std::string message) {
  return {StatusCode::kUnavailable, std::move(message)};
}
inline Status Internal(std::string message) { return {StatusCode::kInternal, std::move(message)}; }

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  using value_type = T;
  StatusOr(const T& value) : state_(value) {}            // NOLINT(google-explicit-constructor)
  StatusOr(T&& value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  StatusOr(Status status) : state_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(state_).ok() && "StatusOr built from an OK status has no value");
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(state_); }

  // REQUIRES: ok().
  const T& value() const& { return std::get<T>(state_); }
  T& value() & { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  // The value, or `fallback` when not ok().
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<Status, T> state_;
};

namespace internal {
inline Status AsStatus(const Status& s) { return s; }
inline Status AsStatus(Status&& s) { return std::move(s); }
template <typename T>
Status AsStatus(const StatusOr<T>& s) {
  return s.status();
}
}  // namespace internal

}  // namespace cairn

#define CAIRN_CONCAT_INNER_(a, b) a##b
#define CAIRN_CONCAT_(a, b) CAIRN_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
// The variable name is unique per expansion so nested uses (a lambda inside
// the expression) do not shadow each other.
#define RETURN_IF_ERROR(expr) RETURN_IF_ERROR_IMPL_(CAIRN_CONCAT_(cairn_status_, __COUNTER__), expr)
// `var` and `lhs` name declarations, which parentheses would break.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define RETURN_IF_ERROR_IMPL_(var, expr)                     \
  do {                                                       \
    ::cairn::Status var = ::cairn::internal::AsStatus(expr); \
    if (!var.ok()) return var;                               \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, Fn());` declares x from a StatusOr or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(CAIRN_CONCAT_(cairn_statusor_, __COUNTER__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
