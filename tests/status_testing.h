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
