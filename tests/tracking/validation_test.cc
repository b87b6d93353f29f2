// Tracking's input checks that stand between client input and the store:
// UTF-8 well-formedness, MLflow's length limits counted in characters, the
// bounds on search filters and page tokens (client errors, never a 500).
#include "tracking/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "core/base64.h"
#include "search/search_filter.h"
#include "status_testing.h"
#include "tracking/run_search.h"

namespace cairn::tracking {

using search::ParseSearchFilter;
using search::RunSearchRules;
namespace {

using ::testing::HasSubstr;

TEST(Utf8Test, FindsTheFirstIllFormedByte) {
  EXPECT_EQ(FindInvalidUtf8("plain ascii"), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("ab\xff"), std::optional<size_t>(2));
  EXPECT_EQ(FindInvalidUtf8("\xc3"), std::optional<size_t>(0));              // Truncated.
  EXPECT_EQ(FindInvalidUtf8("\xc0\xaf"), std::optional<size_t>(0));          // Overlong '/'.
  EXPECT_EQ(FindInvalidUtf8("\xe0\x80\xaf"), std::optional<size_t>(0));      // Overlong.
  EXPECT_EQ(FindInvalidUtf8("x\xed\xa0\x80"), std::optional<size_t>(1));     // Surrogate.
  EXPECT_EQ(FindInvalidUtf8("\xf4\x90\x80\x80"), std::optional<size_t>(0));  // > U+10FFFF.
  EXPECT_EQ(FindInvalidUtf8("\xe2\x82"), std::optional<size_t>(0));
}

TEST(Utf8Test, LengthsAndPrefixesCountCharacters) {
  EXPECT_EQ(Utf8Length("caf\xc3\xa9"), 4u);
  EXPECT_EQ(Utf8Prefix("caf\xc3\xa9!", 4), "caf\xc3\xa9");
  EXPECT_EQ(Utf8Prefix("ab", 5), "ab");
}

TEST(ValidationTest, ExperimentNamesFollowMlflowsLimitOf500Characters) {
  EXPECT_OK(ValidateExperimentName(std::string(500, 'e')));
  // 500 two-byte characters are 1000 bytes but within the limit.
  std::string accented;
  for (int i = 0; i < 500; ++i) accented += "\xc3\xa9";
  EXPECT_OK(ValidateExperimentName(accented));
  Status long_name = ValidateExperimentName(std::string(1'000'000, 'e'));
  EXPECT_THAT(long_name, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(long_name.message(), "'name' exceeds the maximum length of 500 characters");
}

TEST(ValidationTest, LengthErrorsQuoteWholeCharacters) {
  std::string value;
  for (int i = 0; i < 9000; ++i) value += "\xc3\xa9";
  Status too_long = ValidateTag({"k", value});
  EXPECT_THAT(too_long, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(too_long.message(),
              HasSubstr("had length 9000, which exceeded length limit of 8000"));
  EXPECT_EQ(FindInvalidUtf8(too_long.message()), std::nullopt);
  EXPECT_OK(ValidateTag({"k", std::string(8000, 'v')}));  // MLflow's MAX_TAG_VAL_LENGTH.
}

TEST(ValidationTest, APageTokenPastInt64IsInvalidNotACrash) {
  auto huge = ParsePageToken(Base64Encode("{\"offset\": 99999999999999999999}"));
  EXPECT_THAT(huge, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(huge.status().message(), HasSubstr("Invalid page token"));
  ASSERT_OK_AND_ASSIGN(int64_t offset, ParsePageToken(Base64Encode("{\"offset\": 25}")));
  EXPECT_EQ(offset, 25);
}

std::string AndChain(size_t clauses) {
  std::string filter;
  for (size_t i = 0; i < clauses; ++i) {
    if (i > 0) filter += " AND ";
    filter += "metrics.m" + std::to_string(i) + " > 0";
  }
  return filter;
}

TEST(SearchFilterBoundsTest, TooManyClausesAreAClientError) {
  EXPECT_OK(ParseSearchFilter(AndChain(search::kMaxFilterClauses), RunSearchRules()));
  auto many = ParseSearchFilter(AndChain(5000), RunSearchRules());
  EXPECT_THAT(many, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(many.status().message(), HasSubstr("more than 200 clauses"));
}

TEST(SearchFilterBoundsTest, TooManyListValuesAreAClientError) {
  std::string list;
  for (size_t i = 0; i <= search::kMaxFilterValues; ++i)
    list += (i ? ", '" : "'") + std::to_string(i) + "'";
  auto many = ParseSearchFilter("attributes.run_id IN (" + list + ")", RunSearchRules());
  EXPECT_THAT(many, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(many.status().message(), HasSubstr("more than 10000 values"));
}

}  // namespace
}  // namespace cairn::tracking
