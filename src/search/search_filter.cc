#include "search/search_filter.h"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace cairn::search {
namespace {

constexpr size_t kNpos = std::string_view::npos;

// The prefixes of MLflow's messages, kept verbatim: clients and users see them.
constexpr std::string_view kInvalidClause = "Invalid clause(s) in filter string: ";
constexpr std::string_view kInvalidComparison = "Invalid comparison clause. ";
constexpr std::string_view kColumnsHint =
    "Columns should be specified as 'attribute.<key>', 'metric.<key>', 'tag.<key>', "
    "'dataset.<key>', or 'param.'.";
constexpr std::string_view kListPrefix = "While parsing a list in the query, ";

// ---------------------------------------------------------------------------
// Character classes and small string helpers.

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// Letters, digits and '_' of keys. Bytes of multi-byte UTF-8 sequences count as
// word characters, so non-ASCII keys need no quoting (as in MLflow) and a token
// never splits a code point.
bool IsWordChar(char c) {
  return IsAsciiAlpha(c) || IsDigit(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char AsciiUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return AsciiLower(x) == AsciiLower(y);
         });
}

// Words that cannot start a clause or be a bare key.
bool IsReservedWord(std::string_view word) {
  constexpr std::string_view kReserved[] = {"AND", "OR", "NOT", "IN", "LIKE", "ILIKE"};
  return std::any_of(std::begin(kReserved), std::end(kReserved),
                     [&](std::string_view kw) { return EqualsIgnoreCase(word, kw); });
}

std::string ToUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiUpper(c);
  return out;
}

// 'text', the way MLflow quotes a token in its messages.
std::string Quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out += text;
  out += '\'';
  return out;
}

// Python's repr of a set or list of strings: {'a', 'b'} / ['a', 'b'].
template <typename Range>
std::string PyCollection(const Range& items, char open, char close) {
  std::string out(1, open);
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ", ";
    first = false;
    out += Quote(item);
  }
  out += close;
  return out;
}

bool IsQuotedWith(std::string_view s, char q) {
  return s.size() >= 2 && s.front() == q && s.back() == q;
}
// MLflow's key normalisation: strip one level of '...' or "...", then of `...`.
std::string_view StripKeyQuotes(std::string_view s) {
  if (IsQuotedWith(s, '\'') || IsQuotedWith(s, '"')) s = s.substr(1, s.size() - 2);
  if (IsQuotedWith(s, '`')) s = s.substr(1, s.size() - 2);
  return s;
}
std::string_view TrimBackticks(std::string_view s) {
  return IsQuotedWith(s, '`') ? s.substr(1, s.size() - 2) : s;
}

// ---------------------------------------------------------------------------
// Numbers.

// The value of a decimal literal that std::from_chars found out of range:
// +-inf on overflow, +-0 on underflow, as Python's float() gives.
double OutOfRangeValue(std::string_view num) {
  const bool negative = !num.empty() && num.front() == '-';
  if (negative) num.remove_prefix(1);
  const size_t e = num.find_first_of("eE");
  std::string_view mantissa = num.substr(0, e);
  int64_t exponent = 0;
  if (e != kNpos) {
    std::string_view exp = num.substr(e + 1);
    const bool exp_negative = !exp.empty() && exp.front() == '-';
    if (!exp.empty() && (exp.front() == '-' || exp.front() == '+')) exp.remove_prefix(1);
    for (char c : exp) {
      if (exponent < 1'000'000'000) exponent = exponent * 10 + (c - '0');
    }
    if (exp_negative) exponent = -exponent;
  }
  const size_t point = mantissa.find('.');
  std::string_view int_part = mantissa.substr(0, point);
  std::string_view frac_part = point == kNpos ? std::string_view() : mantissa.substr(point + 1);
  // Decimal magnitude: the value is 0.dddd x 10^magnitude.
  int64_t magnitude = 0;
  const size_t int_nonzero = int_part.find_first_not_of('0');
  const size_t frac_nonzero = frac_part.find_first_not_of('0');
  if (int_nonzero != kNpos) {
    magnitude = static_cast<int64_t>(int_part.size() - int_nonzero);
  } else if (frac_nonzero != kNpos) {
    magnitude = -static_cast<int64_t>(frac_nonzero);
  } else {
    return negative ? -0.0 : 0.0;  // A zero with a huge exponent.
  }
  magnitude += exponent;
  const double value = magnitude > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  return negative ? -value : value;
}

// REQUIRES: `num` matches the number syntax of Lexer::ScanNumber.
double ParseDouble(std::string_view num) {
  double value = 0;
  const auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), value);
  if (ec == std::errc::result_out_of_range) return OutOfRangeValue(num);
  return value;
}

// ---------------------------------------------------------------------------
// Lexer.

enum class TokenKind { kEnd, kWord, kString, kNumber, kOperator, kLParen, kRParen, kComma };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t begin = 0;  // Offsets into the source text.
  size_t end = 0;
  // kWord: offset of the first '.' between key segments, or kNpos.
  size_t dot = kNpos;
  // kWord: one unquoted segment (a candidate keyword such as AND or IN).
  bool bare = false;
  // kWord: one "double-quoted" segment, which is a string in value position.
  bool double_quoted = false;
  double number = 0;  // kNumber.
};

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  // Splits the whole source into tokens ending with a kEnd token. Errors name
  // the character or unterminated quote at fault.
  StatusOr<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    size_t i = 0;
    while (true) {
      while (i < src_.size() && IsSpace(src_[i])) ++i;
      Token tok;
      tok.begin = i;
      if (i == src_.size()) {
        tok.end = i;
        tokens.push_back(tok);
        return tokens;
      }
      const char c = src_[i];
      if (c == '\'') {
        const size_t end = ScanQuoted(i);
        if (end == kNpos) return Unterminated(i);
        tok.kind = TokenKind::kString;
        tok.end = end;
      } else if (c == '(' || c == ')' || c == ',') {
        tok.kind = c == '('   ? TokenKind::kLParen
                   : c == ')' ? TokenKind::kRParen
                              : TokenKind::kComma;
        tok.end = i + 1;
      } else if (c == ';') {
        return InvalidArgument("Search filter contained multiple expression " + Quote(src_) +
                               ". Provide AND-ed expression list.");
      } else if (c == '=' || c == '<' || c == '>' || c == '!') {
        const char next = i + 1 < src_.size() ? src_[i + 1] : '\0';
        size_t len = 1;
        if (next == '=' || (c == '<' && next == '>')) len = 2;
        if (c == '!' && len == 1) return UnexpectedChar(i);
        tok.kind = TokenKind::kOperator;
        tok.end = i + len;
      } else if (StartsNumber(i)) {
        const size_t end = ScanNumber(i);
        if (end < src_.size() && IsWordChar(src_[end])) {
          // "1abc", "1_000", "1AND": a word, as sqlparse reads it; a key
          // segment may start with a digit ("metrics.1x" is fine).
          if (!IsDigit(c)) return UnexpectedChar(i);
          RETURN_IF_ERROR(LexWord(i, &tok));
        } else {
          tok.kind = TokenKind::kNumber;
          tok.end = end;
          tok.number = ParseDouble(src_.substr(i, end - i));
        }
      } else if (IsWordChar(c) || c == '`' || c == '"') {
        RETURN_IF_ERROR(LexWord(i, &tok));
      } else {
        return UnexpectedChar(i);
      }
      i = tok.end;
      tokens.push_back(tok);
    }
  }

 private:
  // Finds the end (one past the closing quote) of the quoted text starting at
  // `start`, or kNpos if unterminated. As in sqlparse, a doubled quote and a
  // backslash-escaped one do not close the string; when that reading leaves
  // it unterminated, a trailing backslash is taken literally ('C:\').
  size_t ScanQuoted(size_t start) const {
    const size_t end = ScanQuotedWith(start, /*backslash_escapes=*/src_[start] != '`');
    if (end != kNpos || src_[start] == '`') return end;
    return ScanQuotedWith(start, /*backslash_escapes=*/false);
  }

  size_t ScanQuotedWith(size_t start, bool backslash_escapes) const {
    const char q = src_[start];
    size_t i = start + 1;
    while (i < src_.size()) {
      const char c = src_[i];
      if (backslash_escapes && c == '\\' && i + 1 < src_.size()) {
        i += 2;
      } else if (c == q) {
        if (i + 1 < src_.size() && src_[i + 1] == q) {
          i += 2;
        } else {
          return i + 1;
        }
      } else {
        ++i;
      }
    }
    return kNpos;
  }

  bool DigitAt(size_t i) const { return i < src_.size() && IsDigit(src_[i]); }

  // A number starts with a digit, ".5", "-1" or "-.5". A '-' glued to a word
  // ("metrics.my-key") is not a sign: it is reported as a stray character.
  bool StartsNumber(size_t i) const {
    const char c = src_[i];
    if (IsDigit(c)) return true;
    if (c == '.') return DigitAt(i + 1);
    if (c == '-') {
      if (i > 0 && IsWordChar(src_[i - 1])) return false;
      return DigitAt(i + 1) || (i + 1 < src_.size() && src_[i + 1] == '.' && DigitAt(i + 2));
    }
    return false;
  }

  // REQUIRES: StartsNumber(start). Returns the end of
  // -?(digits[.digits*] | .digits)([eE][+-]?digits)?
  size_t ScanNumber(size_t start) const {
    size_t i = start;
    if (src_[i] == '-') ++i;
    while (DigitAt(i)) ++i;
    if (i < src_.size() && src_[i] == '.') {
      ++i;
      while (DigitAt(i)) ++i;
    }
    if (i < src_.size() && (src_[i] == 'e' || src_[i] == 'E')) {
      size_t j = i + 1;
      if (j < src_.size() && (src_[j] == '+' || src_[j] == '-')) ++j;
      if (DigitAt(j)) {
        i = j;
        while (DigitAt(i)) ++i;
      }
    }
    return i;
  }

  // A key: segments (words, `backticked` or "double-quoted") joined by '.'
  // with no space around the dots.
  Status LexWord(size_t start, Token* tok) {
    tok->kind = TokenKind::kWord;
    size_t i = start;
    int segments = 0;
    bool first_bare = false;
    bool first_double = false;
    while (true) {
      const char c = i < src_.size() ? src_[i] : '\0';
      size_t end = i;
      if (c == '`' || c == '"') {
        end = ScanQuoted(i);
        if (end == kNpos) return Unterminated(i);
      } else if (i < src_.size() && IsWordChar(c)) {
        while (end < src_.size() && IsWordChar(src_[end])) ++end;
      } else {
        // A dot not followed by a key segment: "metrics.", "metrics.'x'".
        return InvalidArgument("Invalid identifier " + Quote(src_.substr(start, i - start)) + ". " +
                               std::string(kColumnsHint));
      }
      if (segments == 0) {
        first_bare = c != '`' && c != '"';
        first_double = c == '"';
      }
      ++segments;
      i = end;
      if (i < src_.size() && src_[i] == '.') {
        if (tok->dot == kNpos) tok->dot = i;
        ++i;
        continue;
      }
      break;
    }
    tok->end = i;
    tok->bare = segments == 1 && first_bare;
    tok->double_quoted = segments == 1 && first_double;
    return Status::Ok();
  }

  Status Unterminated(size_t start) const {
    return InvalidArgument(std::string(kInvalidClause) + Quote(src_.substr(start)) +
                           " (unterminated quote)");
  }

  Status UnexpectedChar(size_t i) const {
    std::string message = std::string(kInvalidClause) + Quote(src_.substr(i, 1));
    if (i > 0 && IsWordChar(src_[i - 1])) {
      message +=
          ". Keys containing special characters must be quoted with backticks, e.g. "
          "metrics.`my-key`";
    }
    return InvalidArgument(std::move(message));
  }

  std::string_view src_;
};

// ---------------------------------------------------------------------------
// Identifiers.

struct PrefixName {
  std::string_view name;
  KeyType type;
};
// MLflow's entity prefixes, matched case-sensitively as MLflow does.
constexpr PrefixName kPrefixes[] = {
    {"metric", KeyType::kMetric},
    {"metrics", KeyType::kMetric},
    {"parameter", KeyType::kParam},
    {"parameters", KeyType::kParam},
    {"param", KeyType::kParam},
    {"params", KeyType::kParam},
    {"tag", KeyType::kTag},
    {"tags", KeyType::kTag},
    {"attribute", KeyType::kAttribute},
    {"attributes", KeyType::kAttribute},
    {"attr", KeyType::kAttribute},
    {"run", KeyType::kAttribute},
    {"dataset", KeyType::kDataset},
    {"datasets", KeyType::kDataset},
};

bool TypeAllowed(const SearchEntityRules& rules, KeyType type) {
  switch (type) {
    case KeyType::kMetric:
      return rules.allow_metrics;
    case KeyType::kParam:
      return rules.allow_params;
    case KeyType::kTag:
      return rules.allow_tags;
    case KeyType::kAttribute:
      return true;
    case KeyType::kDataset:
      return !rules.dataset_keys.empty();
  }
  return false;
}

enum class Context { kFilter, kOrderBy };

bool AttributeMatches(const AttributeRule& rule, std::string_view key, Context context) {
  if (context == Context::kFilter ? !rule.filterable : !rule.orderable) return false;
  if (rule.name == key) return true;
  const auto& aliases = context == Context::kFilter ? rule.filter_aliases : rule.order_by_aliases;
  return std::find(aliases.begin(), aliases.end(), key) != aliases.end();
}

std::vector<std::string> ValidAttributeKeys(const SearchEntityRules& rules, Context context) {
  std::vector<std::string> keys;
  for (const AttributeRule& rule : rules.attributes) {
    if (context == Context::kFilter ? rule.filterable : rule.orderable) keys.push_back(rule.name);
  }
  for (const AttributeRule& rule : rules.attributes) {
    if (context == Context::kFilter ? !rule.filterable : !rule.orderable) continue;
    const auto& aliases = context == Context::kFilter ? rule.filter_aliases : rule.order_by_aliases;
    keys.insert(keys.end(), aliases.begin(), aliases.end());
  }
  return keys;
}

struct Identifier {
  KeyType type = KeyType::kAttribute;
  std::string key;                      // Canonical for attributes.
  std::string as_written;               // The key as the user wrote it, unquoted.
  const AttributeRule* attr = nullptr;  // Set for attributes.
};

// Splits "prefix.key" at the first dot between segments and checks the prefix
// and (for attributes and datasets) the key against the rules.
StatusOr<Identifier> ResolveIdentifier(std::string_view src, const Token& tok,
                                       const SearchEntityRules& rules, Context context) {
  const std::string_view text = src.substr(tok.begin, tok.end - tok.begin);
  Identifier id;
  std::string_view key_text = text;
  if (tok.dot != kNpos) {
    const size_t dot = tok.dot - tok.begin;
    const std::string_view prefix = TrimBackticks(text.substr(0, dot));
    key_text = text.substr(dot + 1);
    const auto* found = std::find_if(std::begin(kPrefixes), std::end(kPrefixes),
                                     [&](const PrefixName& p) { return p.name == prefix; });
    if (found == std::end(kPrefixes) || !TypeAllowed(rules, found->type)) {
      std::vector<std::string_view> valid;
      for (KeyType t : {KeyType::kMetric, KeyType::kParam, KeyType::kTag, KeyType::kAttribute,
                        KeyType::kDataset}) {
        if (TypeAllowed(rules, t)) valid.push_back(KeyTypeName(t));
      }
      return InvalidArgument("Invalid entity type " + Quote(prefix) + ". Valid values are " +
                             PyCollection(valid, '[', ']'));
    }
    id.type = found->type;
  }
  id.as_written = std::string(StripKeyQuotes(key_text));
  if (id.as_written.empty()) {
    return InvalidArgument("Invalid identifier " + Quote(text) + ". " + std::string(kColumnsHint));
  }
  id.key = id.as_written;
  if (id.type == KeyType::kAttribute) {
    for (const AttributeRule& rule : rules.attributes) {
      if (AttributeMatches(rule, id.as_written, context)) {
        id.attr = &rule;
        id.key = rule.name;
        break;
      }
    }
    if (id.attr == nullptr) {
      return InvalidArgument("Invalid attribute key " + Quote(id.as_written) +
                             " specified. Valid keys are " +
                             Quote(PyCollection(ValidAttributeKeys(rules, context), '{', '}')));
    }
  } else if (id.type == KeyType::kDataset) {
    const auto& keys = rules.dataset_keys;
    if (std::find(keys.begin(), keys.end(), id.key) == keys.end()) {
      return InvalidArgument("Invalid dataset key " + Quote(id.key) +
                             " specified. Valid keys are " + Quote(PyCollection(keys, '{', '}')));
    }
  }
  return id;
}

// ---------------------------------------------------------------------------
// Comparators.

// Each key type's comparators, listed in the order MLflow's messages use.
std::vector<Comparator> AllowedComparators(const Identifier& id) {
  using C = Comparator;
  const auto numeric = [] {
    return std::vector<Comparator>{C::kGt, C::kGe, C::kNe, C::kEq, C::kLt, C::kLe};
  };
  switch (id.type) {
    case KeyType::kMetric:
      return numeric();
    case KeyType::kParam:
    case KeyType::kTag:
      return {C::kNe, C::kEq, C::kLike, C::kILike};
    case KeyType::kDataset:
      return {C::kNe, C::kEq, C::kLike, C::kILike, C::kIn, C::kNotIn};
    case KeyType::kAttribute:
      if (id.attr->numeric) return numeric();
      if (id.attr->allows_list) return {C::kNe, C::kEq, C::kLike, C::kILike, C::kIn, C::kNotIn};
      return {C::kNe, C::kEq, C::kLike, C::kILike};
  }
  return {};
}

Status InvalidComparator(std::string_view shown, const Identifier& id) {
  std::vector<std::string_view> names;
  for (Comparator c : AllowedComparators(id)) names.push_back(ComparatorName(c));
  return InvalidArgument("Invalid comparator " + Quote(shown) + " not one of " +
                         Quote(PyCollection(names, '{', '}')));
}

std::optional<Comparator> OperatorComparator(std::string_view op) {
  if (op == "=") return Comparator::kEq;
  if (op == "!=") return Comparator::kNe;
  if (op == "<") return Comparator::kLt;
  if (op == "<=") return Comparator::kLe;
  if (op == ">") return Comparator::kGt;
  if (op == ">=") return Comparator::kGe;
  return std::nullopt;  // "<>" and "==": lexed, but MLflow rejects them.
}

// ---------------------------------------------------------------------------
// Parser.

enum class ValueKind { kNumber, kString, kWord, kList };

struct Value {
  ValueKind kind = ValueKind::kString;
  std::string_view raw;  // As written, quotes and parentheses included.
  double number = 0;
  std::string text;       // kString: the text between the quotes.
  size_t list_begin = 0;  // kList: token index of '('.
  size_t list_end = 0;    // kList: token index of ')'.
};

class FilterParser {
 public:
  FilterParser(std::string_view src, std::vector<Token> tokens, const SearchEntityRules& rules)
      : src_(src), tokens_(std::move(tokens)), rules_(rules) {}

  StatusOr<std::vector<FilterClause>> Parse() {
    std::vector<FilterClause> clauses;
    Status deferred;
    if (Peek().kind == TokenKind::kEnd) return clauses;
    size_t values = 0;
    while (true) {
      ASSIGN_OR_RETURN(FilterClause clause, ParseClause(&deferred));
      values += std::max<size_t>(1, clause.list.size());
      clauses.push_back(std::move(clause));
      if (clauses.size() > kMaxFilterClauses) {
        return InvalidArgument("Invalid filter string: more than " +
                               std::to_string(kMaxFilterClauses) +
                               " clauses joined with AND; narrow the search with fewer "
                               "clauses (an IN list counts as one).");
      }
      if (values > kMaxFilterValues) {
        return InvalidArgument("Invalid filter string: more than " +
                               std::to_string(kMaxFilterValues) +
                               " values in its clauses and IN lists; split the search into "
                               "several requests.");
      }
      const Token& next = Peek();
      if (next.kind == TokenKind::kEnd) {
        if (!deferred.ok()) return deferred;
        return clauses;
      }
      if (IsKeyword(next, "AND")) {
        Advance();
        if (Peek().kind == TokenKind::kEnd) {
          return InvalidArgument(std::string(kInvalidClause) + Quote(Text(next)) +
                                 " (nothing follows it)");
        }
        continue;
      }
      if (IsKeyword(next, "OR")) {
        // MLflow's message, verbatim: only AND-ed clauses are supported.
        return InvalidArgument(std::string(kInvalidClause) + Quote(Text(next)));
      }
      return InvalidArgument(std::string(kInvalidClause) + Quote(Text(next)) +
                             ". Clauses must be joined with AND");
    }
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Advance() {
    const Token& tok = tokens_[pos_];
    if (tok.kind != TokenKind::kEnd) ++pos_;
    return tok;
  }
  std::string_view Text(const Token& tok) const {
    return src_.substr(tok.begin, tok.end - tok.begin);
  }
  bool IsKeyword(const Token& tok, std::string_view keyword) const {
    return tok.kind == TokenKind::kWord && tok.bare && EqualsIgnoreCase(Text(tok), keyword);
  }
  bool IsReserved(const Token& tok) const {
    return tok.kind == TokenKind::kWord && tok.bare && IsReservedWord(Text(tok));
  }

  // Parses one clause. Comparator errors go to *deferred (first one wins)
  // rather than failing at once.
  StatusOr<FilterClause> ParseClause(Status* deferred) {
    const Token& key_tok = Advance();
    if (key_tok.kind != TokenKind::kWord) {
      return InvalidArgument(std::string(kInvalidComparison) + "Expected 'Identifier' found " +
                             Quote(Text(key_tok)));
    }
    if (IsReserved(key_tok)) {
      return InvalidArgument(std::string(kInvalidClause) + Quote(Text(key_tok)));
    }
    ASSIGN_OR_RETURN(Identifier id, ResolveIdentifier(src_, key_tok, rules_, Context::kFilter));

    std::optional<Comparator> op;
    std::string op_shown;
    RETURN_IF_ERROR(ParseComparator(key_tok, id, &op, &op_shown));

    ASSIGN_OR_RETURN(Value value, ParseValue(op_shown));

    FilterClause clause;
    clause.type = id.type;
    clause.key = id.key;
    RETURN_IF_ERROR(CheckValue(id, value, &clause));
    clause.op = op.value_or(Comparator::kEq);
    // MLflow validates comparators only after every clause has parsed, so a
    // malformed later clause is reported first.
    Status comparator_status = CheckComparator(id, op, op_shown, value);
    if (!comparator_status.ok() && deferred->ok()) *deferred = std::move(comparator_status);
    return clause;
  }

  Status CheckComparator(const Identifier& id, std::optional<Comparator> op,
                         const std::string& shown, const Value& value) const {
    if (!op.has_value()) return InvalidComparator(shown, id);
    const bool list_op = *op == Comparator::kIn || *op == Comparator::kNotIn;
    if (list_op && id.type == KeyType::kAttribute && !id.attr->numeric && !id.attr->allows_list) {
      return InvalidArgument(ListNotSupported(id.as_written));
    }
    const std::vector<Comparator> allowed = AllowedComparators(id);
    if (std::find(allowed.begin(), allowed.end(), *op) == allowed.end()) {
      return InvalidComparator(shown, id);
    }
    // MLflow accepts these two mismatches and then fails in SQL.
    if (list_op && value.kind != ValueKind::kList) {
      return InvalidArgument(std::string(kInvalidComparison) + "Comparator " + Quote(shown) +
                             " expects a parenthesised list of quoted strings, e.g. ('a', 'b')."
                             " Got value " +
                             std::string(value.raw));
    }
    if (!list_op && value.kind == ValueKind::kList) {
      return InvalidArgument("Invalid comparator " + Quote(shown) + " for the list " +
                             std::string(value.raw) + ". Use IN or NOT IN");
    }
    return Status::Ok();
  }

  // Reads the comparator after `key_tok`. Sets *op to nullopt for an operator
  // that lexes but MLflow rejects ("<>", "=="), so the value is checked first
  // as MLflow does; an unknown word is rejected at once.
  Status ParseComparator(const Token& key_tok, const Identifier& id, std::optional<Comparator>* op,
                         std::string* shown) {
    const Token& tok = Advance();
    if (tok.kind == TokenKind::kOperator) {
      *shown = std::string(Text(tok));
      *op = OperatorComparator(*shown);
      return Status::Ok();
    }
    if (tok.kind == TokenKind::kWord && tok.bare && !IsKeyword(tok, "AND") &&
        !IsKeyword(tok, "OR")) {
      *shown = ToUpper(Text(tok));
      if (*shown == "LIKE") {
        *op = Comparator::kLike;
      } else if (*shown == "ILIKE") {
        *op = Comparator::kILike;
      } else if (*shown == "IN") {
        *op = Comparator::kIn;
      } else if (*shown == "NOT" && IsKeyword(Peek(), "IN")) {
        Advance();
        *shown = "NOT IN";
        *op = Comparator::kNotIn;
      } else {
        if (*shown == "NOT" && Peek().kind == TokenKind::kWord && Peek().bare) {
          *shown += " " + ToUpper(Text(Peek()));  // "NOT LIKE"
        }
        return InvalidComparator(*shown, id);
      }
      return Status::Ok();
    }
    if (tok.kind == TokenKind::kEnd) {
      return InvalidArgument(std::string(kInvalidComparison) +
                             "Expected comparison found end of filter after " +
                             Quote(Text(key_tok)));
    }
    return InvalidArgument(std::string(kInvalidComparison) + "Expected comparison found " +
                           Quote(Text(tok)));
  }

  StatusOr<Value> ParseValue(std::string_view op_shown) {
    const Token& tok = Advance();
    Value value;
    value.raw = Text(tok);
    switch (tok.kind) {
      case TokenKind::kNumber:
        value.kind = ValueKind::kNumber;
        value.number = tok.number;
        return value;
      case TokenKind::kString:
        value.kind = ValueKind::kString;
        value.text = std::string(value.raw.substr(1, value.raw.size() - 2));
        return value;
      case TokenKind::kWord:
        if (IsKeyword(tok, "AND") || IsKeyword(tok, "OR")) break;
        if (tok.double_quoted) {
          value.kind = ValueKind::kString;
          value.text = std::string(value.raw.substr(1, value.raw.size() - 2));
        } else {
          value.kind = ValueKind::kWord;
        }
        return value;
      case TokenKind::kLParen: {
        value.kind = ValueKind::kList;
        value.list_begin = pos_ - 1;
        while (Peek().kind != TokenKind::kRParen && Peek().kind != TokenKind::kEnd) Advance();
        const Token& close = Peek();
        if (close.kind == TokenKind::kEnd) {
          return InvalidArgument(std::string(kInvalidClause) + Quote(src_.substr(tok.begin)) +
                                 " (missing closing parenthesis)");
        }
        value.list_end = pos_;
        Advance();
        value.raw = src_.substr(tok.begin, close.end - tok.begin);
        return value;
      }
      case TokenKind::kEnd:
        return InvalidArgument(std::string(kInvalidComparison) +
                               "Expected value token found end of filter after " + Quote(op_shown));
      default:
        break;
    }
    return InvalidArgument(std::string(kInvalidComparison) + "Expected value token found " +
                           Quote(value.raw));
  }

  // The value checks of MLflow's SearchUtils._get_value, in its order and
  // with its messages. Fills the value fields of *clause.
  Status CheckValue(const Identifier& id, const Value& value, FilterClause* clause) const {
    const std::string raw(value.raw);
    const bool numeric_key =
        id.type == KeyType::kMetric || (id.type == KeyType::kAttribute && id.attr->numeric);
    if (numeric_key) {
      if (value.kind != ValueKind::kNumber) {
        if (id.type == KeyType::kMetric) {
          return InvalidArgument("Expected numeric value type for metric. Found " + raw);
        }
        return InvalidArgument("Expected numeric value type for numeric attribute: " +
                               id.as_written + ". Found " + raw);
      }
      clause->is_numeric = true;
      clause->number = value.number;
      return Status::Ok();
    }
    switch (value.kind) {
      case ValueKind::kString:
        clause->text = value.text;
        return Status::Ok();
      case ValueKind::kWord:
        return InvalidArgument(
            "Parameter value is either not quoted or unidentified quote types used for string "
            "value " +
            raw + ". Use either single or double quotes.");
      case ValueKind::kList:
        if (id.type == KeyType::kAttribute && !id.attr->allows_list) {
          return InvalidArgument(ListNotSupported(id.as_written));
        }
        if (id.type == KeyType::kParam || id.type == KeyType::kTag) break;
        return ParseList(value, &clause->list);
      case ValueKind::kNumber:
        break;
    }
    if (id.type == KeyType::kAttribute) {
      return InvalidArgument("Expected a quoted string value for attributes. Got value " + raw);
    }
    if (id.type == KeyType::kDataset) {
      return InvalidArgument("Expected a quoted string value for dataset attributes. Got value " +
                             raw);
    }
    return InvalidArgument("Expected a quoted string value for " +
                           std::string(KeyTypeName(id.type)) + " (e.g. 'my-value'). Got value " +
                           raw);
  }

  std::string ListNotSupported(std::string_view key) const {
    std::vector<std::string_view> names;
    for (const AttributeRule& rule : rules_.attributes) {
      if (rule.allows_list && rule.filterable) names.push_back(rule.name);
    }
    std::string message;
    if (names.empty()) {
      message = "No attribute supports comparison with a list of quoted string values";
    } else {
      message = "Only the ";
      for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0) message += ", ";
        message += Quote(names[i]);
      }
      message += names.size() == 1 ? " attribute supports" : " attributes support";
      message += " comparison with a list of quoted string values";
    }
    return message + " (got " + Quote(key) + ").";
  }

  // ('a', "b") with an optional trailing comma, as Python's tuple syntax
  // (MLflow 3.x evaluates the list with ast.literal_eval).
  Status ParseList(const Value& value, std::vector<std::string>* out) const {
    const std::string raw(value.raw);
    size_t i = value.list_begin + 1;
    if (i == value.list_end) {
      return InvalidArgument(std::string(kListPrefix) +
                             "expected a non-empty list of string values, but got empty list");
    }
    while (i < value.list_end) {
      const Token& item = tokens_[i];
      if (item.kind == TokenKind::kString ||
          (item.kind == TokenKind::kWord && item.double_quoted)) {
        const std::string_view text = Text(item);
        out->emplace_back(text.substr(1, text.size() - 2));
      } else if (item.kind == TokenKind::kComma) {
        return IllFormedList(raw);
      } else {
        return InvalidArgument(std::string(kListPrefix) +
                               "expected string value, punctuation, or whitespace, but got "
                               "different type in list: " +
                               raw);
      }
      ++i;
      if (i == value.list_end) break;
      if (tokens_[i].kind != TokenKind::kComma) return IllFormedList(raw);
      ++i;
    }
    return Status::Ok();
  }

  static Status IllFormedList(const std::string& raw) {
    return InvalidArgument(std::string(kListPrefix) +
                           "expected a non-empty list of string values, but got ill-formed "
                           "list: " +
                           raw);
  }

  std::string_view src_;
  std::vector<Token> tokens_;
  const SearchEntityRules& rules_;
  size_t pos_ = 0;
};

bool IsBlank(std::string_view s) { return std::all_of(s.begin(), s.end(), IsSpace); }

// Length of the UTF-8 sequence at s[i]: 1 for ASCII and for invalid bytes.
size_t CharLength(std::string_view s, size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  size_t len = 1;
  if ((lead & 0xE0) == 0xC0) {
    len = 2;
  } else if ((lead & 0xF0) == 0xE0) {
    len = 3;
  } else if ((lead & 0xF8) == 0xF0) {
    len = 4;
  }
  if (i + len > s.size()) return 1;
  for (size_t k = 1; k < len; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  return len;
}

}  // namespace

const SearchEntityRules& RunSearchRules() {
  static const SearchEntityRules rules = [] {
    const auto attribute = [](std::string name, bool numeric, bool allows_list) {
      AttributeRule rule;
      rule.name = std::move(name);
      rule.numeric = numeric;
      rule.allows_list = allows_list;
      return rule;
    };
    SearchEntityRules r;
    r.attributes.push_back(attribute("run_id", false, /*allows_list=*/true));
    r.attributes.push_back(attribute("run_name", false, false));
    r.attributes.back().filter_aliases = {"run name", "Run name", "Run Name"};
    r.attributes.push_back(attribute("status", false, false));
    r.attributes.push_back(attribute("user_id", false, false));
    r.attributes.push_back(attribute("artifact_uri", false, false));
    r.attributes.push_back(attribute("start_time", /*numeric=*/true, false));
    r.attributes.back().filter_aliases = {"created", "Created"};
    r.attributes.back().order_by_aliases = {"created", "Created"};
    r.attributes.push_back(attribute("end_time", /*numeric=*/true, false));
    r.dataset_keys = {"name", "digest", "context"};
    return r;
  }();
  return rules;
}

StatusOr<std::vector<FilterClause>> ParseSearchFilter(std::string_view filter,
                                                      const SearchEntityRules& rules) {
  if (IsBlank(filter)) return std::vector<FilterClause>();
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Lexer(filter).Run());
  return FilterParser(filter, std::move(tokens), rules).Parse();
}

StatusOr<OrderByClause> ParseOrderBy(std::string_view clause, const SearchEntityRules& rules) {
  const Status unparsable =
      InvalidArgument("Invalid order_by clause " + Quote(clause) + ". Could not be parsed.");
  auto tokens = Lexer(clause).Run();
  if (!tokens.ok()) return unparsable;
  const std::vector<Token>& toks = *tokens;
  const auto text = [&](const Token& t) { return clause.substr(t.begin, t.end - t.begin); };
  const auto is_keyword = [&](const Token& t, std::string_view kw) {
    return t.kind == TokenKind::kWord && t.bare && EqualsIgnoreCase(text(t), kw);
  };
  const Token& key_tok = toks[0];
  if (key_tok.kind != TokenKind::kWord || (key_tok.bare && IsReservedWord(text(key_tok)))) {
    return unparsable;
  }
  OrderByClause result;
  if (toks[1].kind != TokenKind::kEnd) {
    if (toks[1].kind != TokenKind::kWord || toks[2].kind != TokenKind::kEnd) return unparsable;
    if (is_keyword(toks[1], "DESC")) {
      result.ascending = false;
    } else if (!is_keyword(toks[1], "ASC")) {
      return InvalidArgument("Invalid ordering key in order_by clause " + Quote(clause) + ".");
    }
  }
  ASSIGN_OR_RETURN(Identifier id, ResolveIdentifier(clause, key_tok, rules, Context::kOrderBy));
  if (id.type == KeyType::kDataset) {
    return InvalidArgument("Invalid order_by entity type " + Quote(KeyTypeName(id.type)));
  }
  result.type = id.type;
  result.key = std::move(id.key);
  return result;
}

StatusOr<std::vector<OrderByClause>> ParseOrderByList(const std::vector<std::string>& clauses,
                                                      const SearchEntityRules& rules) {
  std::vector<OrderByClause> result;
  result.reserve(clauses.size());
  for (const std::string& clause : clauses) {
    ASSIGN_OR_RETURN(OrderByClause parsed, ParseOrderBy(clause, rules));
    for (const OrderByClause& seen : result) {
      if (seen.type == parsed.type && seen.key == parsed.key) {
        return InvalidArgument("`order_by` contains duplicate fields: " +
                               PyCollection(clauses, '[', ']'));
      }
    }
    result.push_back(std::move(parsed));
  }
  return result;
}

bool LikeMatch(std::string_view text, std::string_view pattern, bool case_insensitive) {
  // Greedy matching that backtracks only to the last '%': O(|text| * |pattern|)
  // in the worst case, no recursion.
  size_t t = 0;
  size_t p = 0;
  size_t star_p = kNpos;  // Pattern index just after the last '%'.
  size_t star_t = 0;      // Text index that '%' currently extends to.
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star_p = ++p;
      star_t = t;
      continue;
    }
    if (p < pattern.size() && pattern[p] == '_') {
      t += CharLength(text, t);
      ++p;
      continue;
    }
    if (p < pattern.size() && (case_insensitive ? AsciiLower(text[t]) == AsciiLower(pattern[p])
                                                : text[t] == pattern[p])) {
      ++t;
      ++p;
      continue;
    }
    if (star_p == kNpos) return false;
    star_t += CharLength(text, star_t);
    t = star_t;
    p = star_p;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kMetric:
      return "metric";
    case KeyType::kParam:
      return "parameter";
    case KeyType::kTag:
      return "tag";
    case KeyType::kAttribute:
      return "attribute";
    case KeyType::kDataset:
      return "dataset";
  }
  return "unknown";
}

std::string_view ComparatorName(Comparator op) {
  switch (op) {
    case Comparator::kEq:
      return "=";
    case Comparator::kNe:
      return "!=";
    case Comparator::kLt:
      return "<";
    case Comparator::kLe:
      return "<=";
    case Comparator::kGt:
      return ">";
    case Comparator::kGe:
      return ">=";
    case Comparator::kLike:
      return "LIKE";
    case Comparator::kILike:
      return "ILIKE";
    case Comparator::kIn:
      return "IN";
    case Comparator::kNotIn:
      return "NOT IN";
  }
  return "?";
}

}  // namespace cairn::search
