// The MLflow search grammar: filter strings and order_by clauses for
// search_runs (and, with other rules, for other searchable entities).
//
//   metrics.rmse < 0.5 AND params.model = 'xgb' AND tags.`mlflow.user` LIKE 'a%'
//   run_id IN ('a1b2', 'c3d4') AND attributes.start_time >= 1700000000000
//   order_by: metrics.`val loss` DESC
//
// This is a pure parser: it turns text into FilterClause / OrderByClause values
// and rejects anything MLflow 2.12/3.6 rejects, with MLflow's user-facing
// messages (all errors are InvalidArgument). It knows nothing about storage;
// the SQL builder maps the canonical attribute names it returns to columns.
//
// What an entity may be searched on (attribute keys, which are numeric, which
// take IN lists, whether metrics/params/tags/datasets exist) comes from a
// SearchEntityRules; RunSearchRules() gives MLflow's rules for runs.
//
// Grammar (a hand-written lexer and recursive-descent parser):
//   filter     := clause (AND clause)*        AND is case-insensitive; OR is an error
//   clause     := identifier comparator value
//   identifier := [prefix '.'] key            prefix: metric(s), param(s), parameter(s),
//                                             tag(s), attribute(s), attr, run, dataset(s)
//                                             (case-sensitive, as in MLflow); no prefix
//                                             means an attribute.
//   key        := word ('.' word)* | `quoted` | "quoted"
//   comparator := = != < <= > >= LIKE ILIKE IN NOT IN   (keywords case-insensitive)
//   value      := number | 'string' | "string" | '(' string (',' string)* [','] ')'
//   order_by   := identifier [ASC | DESC]
//
// As in MLflow, quoted strings are not unescaped: the value is the text between
// the outer quotes verbatim ('it''s' yields it''s; use "it's").
//
// Thread-safety: all functions are pure and may be called from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cairn::search {

// Where a key lives. Named as MLflow names them in messages: "metric",
// "parameter", "tag", "attribute", "dataset" (see KeyTypeName).
enum class KeyType { kMetric, kParam, kTag, kAttribute, kDataset };

enum class Comparator { kEq, kNe, kLt, kLe, kGt, kGe, kLike, kILike, kIn, kNotIn };

// One searchable attribute of an entity (a column of its main table).
struct AttributeRule {
  std::string name;                         // Canonical key returned to callers, e.g. "start_time".
  bool numeric = false;                     // Numeric comparators and values; else string ones.
  bool allows_list = false;                 // String attribute that takes IN / NOT IN ('a', 'b').
  bool filterable = true;                   // May appear in a filter.
  bool orderable = true;                    // May appear in an order_by clause.
  std::vector<std::string> filter_aliases;  // Other spellings accepted in filters.
  std::vector<std::string> order_by_aliases;  // Other spellings accepted in order_by.
};

// What a search over one kind of entity accepts.
struct SearchEntityRules {
  std::vector<AttributeRule> attributes;
  bool allow_metrics = true;
  bool allow_params = true;
  bool allow_tags = true;
  // Keys valid after "dataset."; empty means datasets cannot be searched.
  std::vector<std::string> dataset_keys;
};

// MLflow's rules for search_runs: attributes run_id (also IN / NOT IN),
// run_name ("run name", "Run name", "Run Name" in filters), status, user_id,
// artifact_uri, start_time and end_time (numeric; "created" and "Created" are
// start_time), plus metrics, params, tags and datasets (name, digest, context).
const SearchEntityRules& RunSearchRules();

struct FilterClause {
  KeyType type = KeyType::kAttribute;
  // Metric/param/tag name as written (unquoted), a canonical attribute name
  // (aliases resolved), or a dataset key.
  std::string key;
  Comparator op = Comparator::kEq;
  // The value. Exactly one is meaningful: `number` when is_numeric (metrics,
  // numeric attributes), `list` for kIn/kNotIn, else `text`.
  bool is_numeric = false;
  double number = 0;
  std::string text;
  std::vector<std::string> list;

  friend bool operator==(const FilterClause&, const FilterClause&) = default;
};

// Bounds on one filter. Each clause becomes a nested SQL condition and each
// value a bound parameter: SQLite refuses expressions nested deeper than
// 1000 (a chain of 1000 ANDs) and more than 32766 parameters, and a store
// error would reach the client as a 500. MLflow has no such bound; real
// filters have a handful of clauses.
inline constexpr size_t kMaxFilterClauses = 200;
inline constexpr size_t kMaxFilterValues = 10000;

// Parses a search filter. An empty or all-whitespace filter yields no clauses.
// Returns InvalidArgument, with a message naming the offending token, key or
// value, for a syntax error, an unknown prefix or attribute, a value of the
// wrong type for its key, a comparator the key type does not support, or
// more than kMaxFilterClauses clauses or kMaxFilterValues values.
StatusOr<std::vector<FilterClause>> ParseSearchFilter(std::string_view filter,
                                                      const SearchEntityRules& rules);

struct OrderByClause {
  KeyType type = KeyType::kAttribute;
  std::string key;  // As in FilterClause::key.
  bool ascending = true;

  friend bool operator==(const OrderByClause&, const OrderByClause&) = default;
};

// Parses one order_by entry, "<identifier> [ASC|DESC]" (ASC/DESC in any case).
// Datasets cannot be ordered by. Returns InvalidArgument naming the clause or
// key otherwise.
StatusOr<OrderByClause> ParseOrderBy(std::string_view clause, const SearchEntityRules& rules);

// Parses every entry of a request's order_by list, and rejects a list that
// names the same field twice (aliases count as their canonical name), as
// MLflow does.
StatusOr<std::vector<OrderByClause>> ParseOrderByList(const std::vector<std::string>& clauses,
                                                      const SearchEntityRules& rules);

// SQL LIKE: '%' matches any run of characters, '_' exactly one (a UTF-8 code
// point); there is no escape character (SQLite's default; PostgreSQL needs
// ESCAPE '' to agree). case_insensitive folds ASCII letters only, as SQLite's
// lower() does for ILIKE.
bool LikeMatch(std::string_view text, std::string_view pattern, bool case_insensitive);

// "metric", "parameter", "tag", "attribute", "dataset".
std::string_view KeyTypeName(KeyType type);
// "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN".
std::string_view ComparatorName(Comparator op);

}  // namespace cairn::search
