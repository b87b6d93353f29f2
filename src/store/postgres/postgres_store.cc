#include "store/postgres/postgres_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/log.h"
#include "store/connection_store.h"

namespace cairn::store {
namespace {

constexpr size_t kMaxCachedStatements = 512;

// Type OIDs from PostgreSQL's catalog/pg_type.dat; fixed across versions.
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// Returns `sql` with each `?` that is not inside a string literal, quoted
// identifier, comment or dollar-quoted string replaced by $1, $2, ...;
// stores the number of placeholders in *count.
std::string TranslatePlaceholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  size_t i = 0;
  const size_t size = sql.size();
  auto copy_to = [&](size_t end) {
    end = std::min(end, size);
    out.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < size) {
    char c = sql[i];
    if (c == '?') {
      out += '$';
      out += std::to_string(++n);
      ++i;
    } else if (c == '\'') {
      // E'...' strings take backslash escapes; in all strings '' is a quote.
      bool backslash_escapes =
          i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !IsIdentChar(sql[i - 2]));
      size_t j = i + 1;
      while (j < size) {
        if (backslash_escapes && sql[j] == '\\') {
          j += 2;
        } else if (sql[j] == '\'') {
          if (j + 1 < size && sql[j + 1] == '\'') {
            j += 2;
          } else {
            break;
          }
        } else {
          ++j;
        }
      }
      copy_to(j + 1);
    } else if (c == '"') {
      // A doubled "" inside reads as closing and reopening: same result.
      size_t end = sql.find('"', i + 1);
      copy_to(end == std::string_view::npos ? size : end + 1);
    } else if (c == '-' && i + 1 < size && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      copy_to(end == std::string_view::npos ? size : end);
    } else if (c == '/' && i + 1 < size && sql[i + 1] == '*') {
      // PostgreSQL block comments nest.
      int depth = 0;
      size_t j = i;
      while (j < size) {
        if (sql.compare(j, 2, "/*") == 0) {
          ++depth;
          j += 2;
        } else if (sql.compare(j, 2, "*/") == 0) {
          j += 2;
          if (--depth == 0) break;
        } else {
          ++j;
        }
      }
      copy_to(j);
    } else if (c == '$' && (i == 0 || !IsIdentChar(sql[i - 1]))) {
      // $tag$ ... $tag$ (tag empty or an identifier); $1 is a parameter, not a quote.
      size_t j = i + 1;
      while (j < size && sql[j] != '$' && IsIdentChar(sql[j])) ++j;
      bool is_quote = j < size && sql[j] == '$' &&
                      (j == i + 1 || std::isdigit(static_cast<unsigned char>(sql[i + 1])) == 0);
      if (is_quote) {
        std::string_view tag = sql.substr(i, j - i + 1);
        size_t end = sql.find(tag, j + 1);
        copy_to(end == std::string_view::npos ? size : end + tag.size());
      } else {
        copy_to(j);
      }
    } else {
      out += c;
      ++i;
    }
  }
  *count = n;
  return out;
}

// The first keyword of `sql`, upper-cased, after whitespace and comments.
std::string FirstKeyword(std::string_view sql) {
  size_t i = 0;
  for (;;) {
    while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i])) != 0) ++i;
    if (sql.compare(i, 2, "--") == 0) {
      i = sql.find('\n', i);
      if (i == std::string_view::npos) return "";
    } else if (sql.compare(i, 2, "/*") == 0) {
      i = sql.find("*/", i + 2);
      if (i == std::string_view::npos) return "";
      i += 2;
    } else {
      break;
    }
  }
  std::string keyword;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i])) != 0) {
    keyword += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i])));
    ++i;
  }
  return keyword;
}

// Writes a numeric parameter in PostgreSQL's text input format: integers
// exactly, doubles with 17 significant digits (round-trip exact), and the
// special values as float8 spells them.
void FormatNumber(const SqlValue& value, std::string* out) {
  char buffer[32];
  std::to_chars_result r{};
  if (const auto* i = std::get_if<int64_t>(&value)) {
    r = std::to_chars(buffer, buffer + sizeof(buffer), *i);
  } else {
    double d = std::get<double>(value);
    if (std::isnan(d)) {
      out->assign("NaN");
      return;
    }
    if (std::isinf(d)) {
      out->assign(d > 0 ? "Infinity" : "-Infinity");
      return;
    }
    r = std::to_chars(buffer, buffer + sizeof(buffer), d, std::chars_format::general, 17);
  }
  out->assign(buffer, r.ptr);
}

// Converts one text-format result cell by its column type.
SqlValue ParseCell(const char* text, int length, Oid type) {
  const char* end = text + length;
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid: {
      int64_t value = 0;
      auto [ptr, ec] = std::from_chars(text, end, value);
      if (ec == std::errc() && ptr == end) return value;
      break;
    }
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid: {
      // from_chars reads NaN, Infinity and -Infinity too, independent of locale.
      double value = 0;
      auto [ptr, ec] = std::from_chars(text, end, value);
      if (ec == std::errc() && ptr == end) return value;
      // A numeric beyond double's range: strtod gives +-HUGE_VAL or 0.
      if (ec == std::errc::result_out_of_range) return std::strtod(text, nullptr);
      break;
    }
    default:
      break;
  }
  return std::string(text, static_cast<size_t>(length));
}

// libpq messages end in a newline and may span lines; make them one line.
std::string OneLine(const char* message) {
  std::string out;
  bool space = false;
  for (const char* p = message; p != nullptr && *p != '\0'; ++p) {
    if (std::isspace(static_cast<unsigned char>(*p)) != 0) {
      space = !out.empty();
    } else {
      if (space) out += ' ';
      space = false;
      out += *p;
    }
  }
  return out;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2])) != 0) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Where to connect, and what must never appear in messages.
struct Target {
  std::string uri;
  std::string display;
  std::vector<std::string> secrets;  // Passwords as written and as decoded.
  Durability durability = Durability::kFull;
};

Target ParseTarget(const std::string& uri) {
  Target target{uri, "", {}, Durability::kFull};
  size_t start = uri.find("://");
  if (start == std::string::npos) {
    target.display = "<not a postgresql:// URI>";
    return target;
  }
  start += 3;
  auto add_secret = [&](std::string_view secret) {
    if (secret.empty()) return;
    target.secrets.emplace_back(secret);
    std::string decoded = PercentDecode(secret);
    if (decoded != secret) target.secrets.push_back(std::move(decoded));
  };
  std::string display = uri.substr(0, start);
  // User info ends at the last '@' before the query string: an unencoded '@'
  // or '/' in a password must not leak the rest of it into the display form.
  size_t query = uri.find('?', start);
  size_t authority_end = query == std::string::npos ? uri.size() : query;
  size_t at = uri.rfind('@', authority_end - 1);
  size_t host_start = start;
  if (at != std::string::npos && at >= start) {
    std::string_view userinfo(uri.data() + start, at - start);
    size_t colon = userinfo.find(':');
    display.append(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) add_secret(userinfo.substr(colon + 1));
    display += '@';
    host_start = at + 1;
  }
  display.append(uri, host_start, authority_end - host_start);
  if (query != std::string::npos) {
    std::string kept;
    std::string_view params(uri.data() + query + 1, uri.size() - query - 1);
    while (!params.empty()) {
      size_t amp = params.find('&');
      std::string_view param = params.substr(0, amp);
      params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
      size_t eq = param.find('=');
      std::string key(param.substr(0, eq));
      std::transform(key.begin(), key.end(), key.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (key.find("password") != std::string::npos) {
        if (eq != std::string_view::npos) add_secret(param.substr(eq + 1));
        continue;
      }
      if (!kept.empty()) kept += '&';
      kept.append(param);
    }
    if (!kept.empty()) display += "?" + kept;
  }
  target.display = std::move(display);
  return target;
}

std::string Scrub(std::string message, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    for (size_t at = message.find(secret); at != std::string::npos;
         at = message.find(secret, at + 3)) {
      message.replace(at, secret.size(), "***");
    }
  }
  return message;
}

bool IsConnectionLoss(std::string_view sqlstate) {
  // Class 08: connection exception; 57P01-03: server shutting down or starting.
  return sqlstate.substr(0, 2) == "08" || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

bool ResultOk(const PGresult* result) {
  if (result == nullptr) return false;
  ExecStatusType status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY;
}

void LogNotice(void* /*arg*/, const char* message) {
  LogWarn("PostgreSQL notice", {{"message", OneLine(message)}});
}

// Lets cached lookups take a string_view without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

class PostgresConnection : public SqlConnection {
 public:
  PostgresConnection(PGconn* conn, Target target) : conn_(conn), target_(std::move(target)) {
    PQsetNoticeProcessor(conn_, &LogNotice, nullptr);
  }
  ~PostgresConnection() override { PQfinish(conn_); }

  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  Dialect dialect() const override { return Dialect::kPostgres; }

  // Session settings every connection needs; run after each (re)connect.
  Status Configure() {
    // synchronous_commit=on: a COMMIT returns only once the WAL is flushed,
    // whatever the server's default (off for Durability::kProcess: the server
    // flushes it a moment later). extra_float_digits>0: floats print in
    // shortest round-trip form. client_min_messages: no NOTICE chatter
    // ("relation already exists, skipping").
    std::string settings = std::string("SET synchronous_commit = ") +
                           (target_.durability == Durability::kFull ? "on" : "off") +
                           "; SET extra_float_digits = 3; SET client_min_messages = warning";
    Result result(PQexec(conn_, settings.c_str()));
    if (!ResultOk(result.get())) {
      return Unavailable("Cannot configure a PostgreSQL session at " + target_.display + ": " +
                         ErrorText(result.get()));
    }
    return Status::Ok();
  }

  Status ExecuteScript(std::string_view sql) override {
    std::string keyword = FirstKeyword(sql);
    // COMMIT of a failed transaction "succeeds" as a ROLLBACK: never let that
    // pass as a commit.
    if ((keyword == "COMMIT" || keyword == "END") &&
        PQtransactionStatus(conn_) == PQTRANS_INERROR) {
      return Internal(
          "Cannot commit: a statement in this transaction failed, so PostgreSQL aborted it "
          "(a write callback must return the error of a failed statement)");
    }
    // A new transaction does not depend on the session: if the connection was
    // lost since the last one, reconnect rather than fail.
    bool begins = keyword == "BEGIN" || keyword == "START";
    if (begins && PQstatus(conn_) != CONNECTION_OK) RETURN_IF_ERROR(Reconnect());
    std::string text(sql);
    Result result(PQexec(conn_, text.c_str()));
    if (begins && !ResultOk(result.get()) && PQstatus(conn_) != CONNECTION_OK) {
      RETURN_IF_ERROR(Reconnect());
      result.reset(PQexec(conn_, text.c_str()));
    }
    if (!ResultOk(result.get())) return ErrorFrom(result.get(), "SQL script failed");
    return Status::Ok();
  }

  StatusOr<int64_t> Execute(std::string_view sql, std::span<const SqlValue> params) override {
    ASSIGN_OR_RETURN(Result result, Run(sql, params, "SQL execution failed"));
    const char* tuples = PQcmdTuples(result.get());
    int64_t changed = 0;
    std::from_chars(tuples, tuples + std::strlen(tuples), changed);
    return changed;
  }

  StatusOr<SqlRows> Query(std::string_view sql, std::span<const SqlValue> params) override {
    ASSIGN_OR_RETURN(Result result, Run(sql, params, "SQL query failed"));
    const PGresult* r = result.get();
    int columns = PQnfields(r);
    int row_count = PQntuples(r);
    SqlRows rows(static_cast<size_t>(columns));
    rows.Reserve(static_cast<size_t>(row_count));
    std::vector<Oid> types(static_cast<size_t>(columns));
    for (int c = 0; c < columns; ++c) types[static_cast<size_t>(c)] = PQftype(r, c);
    for (int row = 0; row < row_count; ++row) {
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(r, row, c) != 0) {
          rows.Append(std::monostate{});
        } else {
          rows.Append(ParseCell(PQgetvalue(r, row, c), PQgetlength(r, row, c),
                                types[static_cast<size_t>(c)]));
        }
      }
    }
    return rows;
  }

  Status ForEachRow(std::string_view sql, std::span<const SqlValue> params,
                    const std::function<void(const SqlRow&)>& fn) override {
    ASSIGN_OR_RETURN(Result result, Run(sql, params, "SQL query failed"));
    ResultRow row(result.get());
    for (int count = PQntuples(result.get()); row.index < count; ++row.index) fn(row);
    return Status::Ok();
  }

 private:
  // One row of a text-format result, parsed on access.
  struct ResultRow final : public SqlRow {
    explicit ResultRow(const PGresult* r) : result(r) {}
    bool IsNull(int col) const override { return PQgetisnull(result, index, col) != 0; }
    int64_t Int(int col) const override {
      SqlValue v = Cell(col);
      if (const auto* i = std::get_if<int64_t>(&v)) return *i;
      if (const auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
      return 0;
    }
    double Double(int col) const override {
      SqlValue v = Cell(col);
      if (const auto* d = std::get_if<double>(&v)) return *d;
      if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
      return 0;
    }
    std::string_view Text(int col) const override {
      return {PQgetvalue(result, index, col), static_cast<size_t>(PQgetlength(result, index, col))};
    }
    SqlValue Cell(int col) const {
      if (IsNull(col)) return std::monostate{};
      return ParseCell(PQgetvalue(result, index, col), PQgetlength(result, index, col),
                       PQftype(result, col));
    }

    const PGresult* result;
    int index = 0;
  };

  // One distinct SQL text: its translation, and the server-side prepared
  // statements made from it, one per parameter type signature.
  struct Statement {
    std::string sql;
    size_t param_count = 0;
    std::vector<std::pair<std::string, std::string>> prepared;  // (signature, name)
  };

  // Prepares (once) and runs `sql` with `params`.
  StatusOr<Result> Run(std::string_view sql, std::span<const SqlValue> params,
                       std::string_view context) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      return Unavailable("Lost the connection to PostgreSQL at " + target_.display +
                         "; retry the request.");
    }
    if (statements_.size() >= kMaxCachedStatements || prepared_count_ >= kMaxCachedStatements) {
      EvictStatements();
    }
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      int count = 0;
      std::string translated = TranslatePlaceholders(sql, &count);
      it = statements_
               .emplace(std::string(sql),
                        Statement{std::move(translated), static_cast<size_t>(count), {}})
               .first;
    }
    Statement& statement = it->second;
    if (params.size() != statement.param_count) {
      return Internal("SQL has " + std::to_string(statement.param_count) + " ? placeholders but " +
                      std::to_string(params.size()) +
                      " parameters were given: " + std::string(sql.substr(0, 200)));
    }

    // Integers and doubles are typed so the server never guesses them as text;
    // text and NULL stay untyped (0) and take the type their context needs.
    signature_.assign(params.size(), 'u');
    types_.assign(params.size(), 0);
    for (size_t k = 0; k < params.size(); ++k) {
      if (std::holds_alternative<int64_t>(params[k])) {
        signature_[k] = 'i';
        types_[k] = kInt8Oid;
      } else if (std::holds_alternative<double>(params[k])) {
        signature_[k] = 'd';
        types_[k] = kFloat8Oid;
      }
    }
    auto prepared = std::find_if(statement.prepared.begin(), statement.prepared.end(),
                                 [&](const auto& p) { return p.first == signature_; });
    if (prepared == statement.prepared.end()) {
      std::string name = "cairn_" + std::to_string(++statement_counter_);
      Result result(PQprepare(conn_, name.c_str(), statement.sql.c_str(),
                              static_cast<int>(params.size()), types_.data()));
      if (!ResultOk(result.get())) return ErrorFrom(result.get(), "SQL prepare failed");
      statement.prepared.emplace_back(signature_, std::move(name));
      ++prepared_count_;
      prepared = statement.prepared.end() - 1;
    }

    values_.assign(params.size(), nullptr);
    if (texts_.size() < params.size()) texts_.resize(params.size());
    for (size_t k = 0; k < params.size(); ++k) {
      const SqlValue& v = params[k];
      if (const auto* s = std::get_if<std::string>(&v)) {
        if (s->find('\0') != std::string::npos) {
          return InvalidArgument("Text parameter " + std::to_string(k + 1) +
                                 " contains a NUL byte, which PostgreSQL text cannot store.");
        }
        values_[k] = s->c_str();
      } else if (!std::holds_alternative<std::monostate>(v)) {
        FormatNumber(v, &texts_[k]);
        values_[k] = texts_[k].c_str();
      }
    }
    Result result(PQexecPrepared(conn_, prepared->second.c_str(), static_cast<int>(params.size()),
                                 values_.data(), nullptr, nullptr, /*resultFormat=*/0));
    if (!ResultOk(result.get())) {
      Status error = ErrorFrom(result.get(), context);
      // "cached plan must not change result type" after a table changed shape:
      // prepare afresh next time (the stale one goes at the next eviction).
      const char* state =
          result != nullptr ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
      if (state != nullptr && std::string_view(state) == "0A000") {
        statement.prepared.erase(prepared);
      }
      return error;
    }
    return result;
  }

  // Drops every prepared statement, keeping the cache bounded. Skipped inside
  // a failed transaction, where the server accepts no command; retried later.
  void EvictStatements() {
    PGTransactionStatusType status = PQtransactionStatus(conn_);
    if (status != PQTRANS_IDLE && status != PQTRANS_INTRANS) return;
    Result result(PQexec(conn_, "DEALLOCATE ALL"));
    if (!ResultOk(result.get())) return;
    statements_.clear();
    prepared_count_ = 0;
  }

  Status Reconnect() {
    LogWarn("reconnecting to PostgreSQL", {{"uri", target_.display}});
    PQreset(conn_);
    statements_.clear();  // Prepared statements died with the old session.
    prepared_count_ = 0;
    if (PQstatus(conn_) != CONNECTION_OK) {
      return Unavailable(
          "Lost the connection to PostgreSQL at " + target_.display +
          " and cannot reconnect: " + Scrub(OneLine(PQerrorMessage(conn_)), target_.secrets));
    }
    return Configure();
  }

  std::string ErrorText(const PGresult* result) const {
    const char* primary =
        result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    if (primary == nullptr) return Scrub(OneLine(PQerrorMessage(conn_)), target_.secrets);
    std::string text = primary;
    if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)) {
      text += std::string(" (") + detail + ")";
    }
    return text;
  }

  Status ErrorFrom(const PGresult* result, std::string_view context) const {
    const char* state_field =
        result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    std::string_view state = state_field != nullptr ? state_field : "";
    std::string message = std::string(context) + ": " + ErrorText(result);
    if (!state.empty()) message += " [SQLSTATE " + std::string(state) + "]";
    if (PQstatus(conn_) != CONNECTION_OK || IsConnectionLoss(state)) {
      return Unavailable(message + "; lost the connection to PostgreSQL at " + target_.display +
                         ", retry the request.");
    }
    if (state == "23505") return AlreadyExists(message);
    // Serialization failure and deadlock: the transaction may succeed if retried.
    if (state == "40001" || state == "40P01") return Unavailable(message);
    return Internal(message);
  }

  PGconn* conn_;
  const Target target_;
  std::unordered_map<std::string, Statement, StringHash, std::equal_to<>> statements_;
  size_t prepared_count_ = 0;
  uint64_t statement_counter_ = 0;
  // Scratch space for Run, kept to avoid allocating per statement.
  std::string signature_;
  std::vector<Oid> types_;
  std::vector<const char*> values_;
  std::vector<std::string> texts_;
};

StatusOr<std::unique_ptr<SqlConnection>> Connect(const Target& target) {
  // Earlier keywords are defaults that the URI (expanded from dbname) overrides.
  const char* keywords[] = {"connect_timeout", "fallback_application_name", "client_encoding",
                            "dbname", nullptr};
  const char* values[] = {"10", "cairn", "UTF8", target.uri.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return Unavailable("Cannot connect to PostgreSQL at " + target.display + ": out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string reason = Scrub(OneLine(PQerrorMessage(conn)), target.secrets);
    PQfinish(conn);
    return Unavailable("Cannot connect to PostgreSQL at " + target.display + ": " + reason);
  }
  auto connection = std::make_unique<PostgresConnection>(conn, target);
  RETURN_IF_ERROR(connection->Configure());
  return std::unique_ptr<SqlConnection>(std::move(connection));
}

bool HasPostgresScheme(std::string_view uri) {
  return uri.rfind("postgresql://", 0) == 0 || uri.rfind("postgres://", 0) == 0;
}

}  // namespace

std::string RedactPostgresUri(const std::string& uri) { return ParseTarget(uri).display; }

StatusOr<std::unique_ptr<MetadataStore>> OpenPostgresStore(const std::string& uri) {
  if (!HasPostgresScheme(uri)) {
    return InvalidArgument(
        "Not a PostgreSQL URI: expected postgresql://[user[:password]@]host[:port]/dbname");
  }
  std::string plain_uri = uri;  // libpq rejects parameters it does not know.
  ASSIGN_OR_RETURN(Durability durability, TakeDurability(&plain_uri));
  Target target = ParseTarget(plain_uri);
  target.durability = durability;
  std::string display = target.display;
  ConnectionStoreOptions options;
  options.begin_write = "BEGIN";
  options.begin_read = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
  // Transaction-scoped, so it is released by the migration's COMMIT/ROLLBACK.
  options.migration_lock = "SELECT pg_advisory_xact_lock(727272)";
  ASSIGN_OR_RETURN(auto store, ConnectionStore::Open(
                                   Dialect::kPostgres, std::move(display),
                                   [target] { return Connect(target); }, options));
  return std::unique_ptr<MetadataStore>(std::move(store));
}

void RegisterPostgresStore(MetadataStoreRegistry* registry) {
  registry->Register("postgresql", OpenPostgresStore);
  registry->Register("postgres", OpenPostgresStore);
}

}  // namespace cairn::store
