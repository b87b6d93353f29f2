#include "audit/audit_log.h"

#include "core/sha256.h"

namespace cairn::audit {

using store::SqlRows;
using store::SqlSession;

namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE audit_log (
  seq BIGINT NOT NULL PRIMARY KEY,
  time_ms BIGINT NOT NULL,
  user_name TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  request TEXT NOT NULL,
  before_state TEXT NOT NULL,
  after_state TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
)
)sql";

const std::string kGenesis(64, '0');

// Length-prefixed, so no two different entries hash the same bytes.
void Field(std::string* out, std::string_view value) {
  *out += std::to_string(value.size());
  *out += ':';
  *out += value;
  *out += '\n';
}

constexpr char kColumns[] =
    "seq, time_ms, user_name, action, target, request, before_state, after_state, prev_hash, hash";

Entry EntryFromRow(const store::SqlRow& row) {
  Entry e;
  e.seq = row.Int(0);
  e.time_ms = row.Int(1);
  e.user = std::string(row.Text(2));
  e.action = std::string(row.Text(3));
  e.target = std::string(row.Text(4));
  e.request = std::string(row.Text(5));
  e.before = std::string(row.Text(6));
  e.after = std::string(row.Text(7));
  e.prev_hash = std::string(row.Text(8));
  e.hash = std::string(row.Text(9));
  return e;
}

}  // namespace

std::string BoundedRequest(std::string_view request) {
  if (request.size() <= kMaxRequestBytes) return std::string(request);
  return std::string(request.substr(0, kMaxRequestBytes)) + "... [" +
         std::to_string(request.size()) + " bytes, sha256 " + Sha256Hex(request) + "]";
}

AuditLog::AuditLog(store::MetadataStore* store, Env* env) : store_(store), env_(env) {}

Status AuditLog::Init() {
  std::vector<store::Migration> migrations = {store::DdlMigration(1, "audit log", kSchema)};
  return store_->Migrate("audit", migrations);
}

std::string AuditLog::HashOf(const Entry& e) {
  std::string bytes;
  Field(&bytes, std::to_string(e.seq));
  Field(&bytes, std::to_string(e.time_ms));
  Field(&bytes, e.user);
  Field(&bytes, e.action);
  Field(&bytes, e.target);
  Field(&bytes, e.request);
  Field(&bytes, e.before);
  Field(&bytes, e.after);
  Field(&bytes, e.prev_hash);
  return Sha256Hex(bytes);
}

Status AuditLog::Record(SqlSession& db, const store::WriteContext& context,
                        const std::string& before, const std::string& after) {
  // Replicas on one PostgreSQL database append to one chain: take turns.
  if (db.dialect() == store::Dialect::kPostgres) {
    RETURN_IF_ERROR(db.ExecuteScript("SELECT pg_advisory_xact_lock(4242)"));
  }
  ASSIGN_OR_RETURN(SqlRows last,
                   db.Query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
  Entry e;
  e.seq = last.empty() ? 1 : last.Int(0, 0) + 1;
  e.prev_hash = last.empty() ? kGenesis : last.Text(0, 1);
  e.time_ms = env_->NowMillis();
  e.user = context.user;
  e.action = context.action;
  e.target = context.target;
  e.request = context.request;
  e.before = before;
  e.after = after;
  e.hash = HashOf(e);
  return db
      .Execute(std::string("INSERT INTO audit_log (") + kColumns +
                   ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               {e.seq, e.time_ms, e.user, e.action, e.target, e.request, e.before, e.after,
                e.prev_hash, e.hash})
      .status();
}

Status AuditLog::Append(const store::WriteContext& context) {
  // No context on this thread for this write: the entry is written here,
  // and the observer must not add a second one.
  store::ScopedWriteContext unobserved(nullptr);
  return store_->Write([&](SqlSession& db) { return Record(db, context, "", ""); });
}

StatusOr<std::vector<Entry>> AuditLog::List(int64_t after_seq, int64_t limit) {
  std::vector<Entry> out;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) {
    return db.ForEachRow(
        std::string("SELECT ") + kColumns + " FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
        std::vector<store::SqlValue>{after_seq, limit},
        [&](const store::SqlRow& row) { out.push_back(EntryFromRow(row)); });
  }));
  return out;
}

StatusOr<VerifyReport> AuditLog::Verify() {
  VerifyReport report;
  std::string expected_prev = kGenesis;
  int64_t expected_seq = 1;
  RETURN_IF_ERROR(store_->Read([&](SqlSession& db) {
    return db.ForEachRow(
        std::string("SELECT ") + kColumns + " FROM audit_log ORDER BY seq", {},
        [&](const store::SqlRow& row) {
          Entry e = EntryFromRow(row);
          ++report.entries;
          std::string at = "entry " + std::to_string(e.seq);
          if (e.seq != expected_seq) {
            report.problems.push_back(at + ": " +
                                      (e.seq - 1 > expected_seq
                                           ? "entries " + std::to_string(expected_seq) + " to " +
                                                 std::to_string(e.seq - 1) + " are"
                                           : "entry " + std::to_string(expected_seq) + " is") +
                                      " missing (dropped)");
          } else if (e.prev_hash != expected_prev) {
            report.problems.push_back(at +
                                      ": does not follow the entry before it (entries were "
                                      "reordered or replaced)");
          }
          if (HashOf(e) != e.hash) {
            report.problems.push_back(at + " (" + e.action + " by '" + e.user +
                                      "'): its content was edited (the hash it carries does not "
                                      "match its fields)");
          }
          expected_prev = e.hash;
          expected_seq = e.seq + 1;
          report.head_hash = e.hash;
        });
  }));
  return report;
}

}  // namespace cairn::audit
