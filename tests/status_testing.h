// Test helpers for Status and StatusOr: ASSERT_OK / EXPECT_OK with the status
// in the failure message, and gtest printing of a Status.
#pragma once

#include <gtest/gtest.h>

#include <ostream>

#include "core/status.h"

namespace cairn {
// Lets gtest print a Status in failure messages.
inline void PrintTo(const Status& status, std::ostream* os) { *os << status.ToString(); }
}  // namespace cairn

#define ASSERT_OK(expr)                                          \
  do {                                                           \
    ::cairn::Status status_ = ::cairn::internal::AsStatus(expr); \
    ASSERT_TRUE(status_.ok()) << status_.ToString();             \
  } while (false)
#define EXPECT_OK(expr)                                          \
  do {                                                           \
    ::cairn::Status status_ = ::cairn::internal::AsStatus(expr); \
    EXPECT_TRUE(status_.ok()) << status_.ToString();             \
  } while (false)

// ASSERT_OK_AND_ASSIGN(T var, expr): asserts `expr` (a StatusOr) is OK and
// moves its value into the new variable `var`.
#define ASSERT_OK_AND_ASSIGN(decl, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(CAIRN_CONCAT_(statusor_, __COUNTER__), decl, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                                \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  decl = std::move(tmp).value()

#include <gmock/gmock.h>

namespace cairn::testing {

// EXPECT_THAT(result, StatusIs(StatusCode::kNotFound)) and, with a message
// matcher, StatusIs(StatusCode::kInvalidArgument, HasSubstr("port")). Takes
// a Status or a StatusOr<T>; a failure prints the whole status.
MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + std::string(::cairn::StatusCodeName(code)) +
               " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher, negation)) {
  ::cairn::Status status = ::cairn::internal::AsStatus(arg);
  *result_listener << "whose status is " << status.ToString();
  return status.code() == code &&
         ::testing::Matches(::testing::Matcher<std::string>(message_matcher))(status.message());
}

// StatusIs(code) with any message.
inline auto StatusIs(::cairn::StatusCode code) { return StatusIs(code, ::testing::_); }

// EXPECT_THAT(store.Get(id), IsOkAndHolds(Field(&Run::name, "a"))): OK, and
// the value matches.
MATCHER_P(IsOkAndHolds, value_matcher,
          std::string(negation ? "is not OK or holds a value that does not match"
                               : "is OK and holds a value that matches")) {
  if (!arg.ok()) {
    *result_listener << "whose status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

// EXPECT_THAT(status, IsOk()).
MATCHER(IsOk, "is OK") {
  ::cairn::Status status = ::cairn::internal::AsStatus(arg);
  if (!status.ok()) *result_listener << "whose status is " << status.ToString();
  return status.ok();
}

}  // namespace cairn::testing
