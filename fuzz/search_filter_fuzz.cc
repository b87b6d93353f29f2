// Fuzzes the MLflow search filter and order_by parsers and LikeMatch.
//
// Beyond "no crash, no sanitizer report", it checks invariants: errors are
// InvalidArgument with a message; parsed clauses are well-formed for their
// key type; a LIKE pattern matches itself; and appending a valid clause to a
// valid filter adds exactly that clause.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "search/search_filter.h"

namespace {

using cairn::StatusCode;
using cairn::search::Comparator;
using cairn::search::FilterClause;
using cairn::search::KeyType;
using cairn::search::LikeMatch;
using cairn::search::RunSearchRules;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

bool IsCanonicalAttribute(const std::string& key, bool* numeric) {
  for (const auto& rule : RunSearchRules().attributes) {
    if (rule.name == key) {
      *numeric = rule.numeric;
      return true;
    }
  }
  return false;
}

void CheckClause(const FilterClause& c) {
  Check(!c.key.empty());
  const bool list_op = c.op == Comparator::kIn || c.op == Comparator::kNotIn;
  Check(list_op == !c.list.empty());
  bool numeric = c.type == KeyType::kMetric;
  if (c.type == KeyType::kAttribute) Check(IsCanonicalAttribute(c.key, &numeric));
  Check(c.is_numeric == numeric);
  if (c.op == Comparator::kLike || c.op == Comparator::kILike) {
    Check(LikeMatch(c.text, c.text, c.op == Comparator::kILike));
  }
}

void FuzzFilter(std::string_view input) {
  auto parsed = cairn::search::ParseSearchFilter(input, RunSearchRules());
  if (!parsed.ok()) {
    Check(parsed.status().code() == StatusCode::kInvalidArgument);
    Check(!parsed.status().message().empty());
    return;
  }
  for (const FilterClause& c : *parsed) CheckClause(c);

  const std::string extended =
      std::string(input) + (parsed->empty() ? "" : " AND ") + "metrics.`fuzz` <= 1";
  auto again = cairn::search::ParseSearchFilter(extended, RunSearchRules());
  Check(again.ok());
  Check(again->size() == parsed->size() + 1);
  for (size_t i = 0; i < parsed->size(); ++i) Check((*again)[i] == (*parsed)[i]);
  Check(again->back().key == "fuzz" && again->back().number == 1);
}

void FuzzOrderBy(std::string_view input) {
  auto parsed = cairn::search::ParseOrderBy(input, RunSearchRules());
  if (!parsed.ok()) {
    Check(parsed.status().code() == StatusCode::kInvalidArgument);
    Check(!parsed.status().message().empty());
    return;
  }
  Check(!parsed->key.empty());
  Check(parsed->type != KeyType::kDataset);
  bool numeric = false;
  if (parsed->type == KeyType::kAttribute) Check(IsCanonicalAttribute(parsed->key, &numeric));
}

void FuzzLike(std::string_view input) {
  // First byte picks the split between text and pattern.
  if (input.empty()) return;
  const size_t split = static_cast<unsigned char>(input[0]) % input.size();
  const std::string_view rest = input.substr(1);
  const std::string_view text = rest.substr(0, std::min(split, rest.size()));
  const std::string_view pattern = rest.substr(text.size());
  const bool sensitive = LikeMatch(text, pattern, false);
  const bool insensitive = LikeMatch(text, pattern, true);
  Check(!sensitive || insensitive);
  Check(LikeMatch(text, "%", false));
  Check(LikeMatch(text, text, false));
  Check(LikeMatch(text, "%" + std::string(text) + "%", false));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  FuzzFilter(input);
  FuzzOrderBy(input);
  FuzzLike(input);
  return 0;
}
