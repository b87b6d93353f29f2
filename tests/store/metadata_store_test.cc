// The MetadataStore contract, run against every backend: SQLite always, and
// PostgreSQL when CAIRN_TEST_POSTGRES_URI names a server:
//
//   D=$(mktemp -d); export CAIRN_TEST_POSTGRES_URI=$(scripts/pg-test-cluster start $D | tail -1)
//   build/dev/tests/metadata_store_test; scripts/pg-test-cluster stop $D
//
// Each test gets a fresh database: a new SQLite file in its own temporary
// directory, or a new PostgreSQL schema that every connection of the store
// uses (search_path set through the URI), dropped afterwards.
#include "store/metadata_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "status_testing.h"
#include "store/postgres/postgres_store.h"
#include "store/scratch_database.h"
#include "store/sqlite/sqlite_store.h"

namespace cairn::store {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class MetadataStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_OK(database_.Create(GetParam()));
    if (database_.skipped()) GTEST_SKIP() << database_.skip_reason();
    uri_ = database_.uri();
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }

  void TearDown() override { store_.reset(); }

  static bool postgres() { return GetParam() == "postgres"; }

  // Closes the store (if open) and opens it again from its URI.
  void Reopen() {
    store_.reset();
    auto opened = registry_.Open(uri_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }

  Status Script(const std::string& sql) {
    return store_->Write([&](SqlSession& db) { return db.ExecuteScript(sql); });
  }

  StatusOr<SqlRows> ReadRows(const std::string& sql, std::vector<SqlValue> params = {}) {
    SqlRows rows;
    Status status = store_->Read([&](SqlSession& db) -> Status {
      ASSIGN_OR_RETURN(rows, db.Query(sql, params));
      return Status::Ok();
    });
    if (!status.ok()) return status;
    return rows;
  }

  // The single integer a query returns, or -1 on error (reported).
  int64_t ReadInt(const std::string& sql, std::vector<SqlValue> params = {}) {
    auto rows = ReadRows(sql, std::move(params));
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok() || rows->size() != 1) return -1;
    return rows->Int(0, 0);
  }

  std::vector<int64_t> ReadInts(const std::string& sql) {
    std::vector<int64_t> out;
    auto rows = ReadRows(sql);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok()) return out;
    for (size_t r = 0; r < rows->size(); ++r) out.push_back(rows->Int(r, 0));
    return out;
  }

  MetadataStoreRegistry registry_ = AllBackends();
  ScratchDatabase database_;
  std::string uri_;
  std::unique_ptr<MetadataStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, MetadataStoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& param) { return param.param; });

// ---- Migrations -----------------------------------------------------------

TEST_P(MetadataStoreTest, MigrateAppliesInVersionOrderAndRecordsEachVersion) {
  // Each migration depends on the previous one, and they are given shuffled.
  std::vector<Migration> migrations = {
      {3, "derive", "INSERT INTO steps (n) SELECT MAX(n) + 1 FROM steps", ""},
      {1, "create", "CREATE TABLE steps (n BIGINT NOT NULL)", ""},
      {2, "seed", "INSERT INTO steps (n) VALUES (2)", ""},
  };
  ASSERT_OK(store_->Migrate("demo", migrations));

  EXPECT_EQ(ReadInts("SELECT n FROM steps ORDER BY n"), (std::vector<int64_t>{2, 3}));
  auto recorded =
      ReadRows("SELECT version, name FROM schema_migrations WHERE component = ? ORDER BY version",
               {std::string("demo")});
  ASSERT_OK(recorded);
  ASSERT_EQ(recorded->size(), 3u);
  EXPECT_EQ(recorded->Int(0, 0), 1);
  EXPECT_EQ(recorded->Text(0, 1), "create");
  EXPECT_EQ(recorded->Int(1, 0), 2);
  EXPECT_EQ(recorded->Text(1, 1), "seed");
  EXPECT_EQ(recorded->Int(2, 0), 3);
  EXPECT_EQ(recorded->Text(2, 1), "derive");
}

TEST_P(MetadataStoreTest, MigrateIsIdempotentAcrossReopens) {
  std::vector<Migration> migrations = {
      {1, "create", "CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT)", ""},
      {2, "seed", "INSERT INTO items (id, label) VALUES (1, 'one')", ""},
  };
  ASSERT_OK(store_->Migrate("items", migrations));
  // Re-applying "seed" would fail on the primary key.
  ASSERT_OK(store_->Migrate("items", migrations));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_OK(store_->Migrate("items", migrations));

  migrations.push_back({3, "more", "INSERT INTO items (id, label) VALUES (3, 'three')", ""});
  ASSERT_OK(store_->Migrate("items", migrations));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_OK(store_->Migrate("items", migrations));

  EXPECT_EQ(ReadInts("SELECT id FROM items ORDER BY id"), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(ReadInts("SELECT version FROM schema_migrations WHERE component = 'items'"
                     " ORDER BY version"),
            (std::vector<int64_t>{1, 2, 3}));
}

TEST_P(MetadataStoreTest, MigrateUsesPostgresSqlOnPostgres) {
  // AUTOINCREMENT is SQLite-only and BIGSERIAL PostgreSQL-only: the wrong
  // choice fails outright.
  std::vector<Migration> migrations = {
      {1, "dialect",
       "CREATE TABLE d (id INTEGER PRIMARY KEY AUTOINCREMENT, which TEXT);"
       " INSERT INTO d (which) VALUES ('sqlite')",
       "CREATE TABLE d (id BIGSERIAL PRIMARY KEY, which TEXT);"
       " INSERT INTO d (which) VALUES ('postgres')"},
      {2, "portable", "INSERT INTO d (which) VALUES ('both')", ""},
  };
  ASSERT_OK(store_->Migrate("dialect", migrations));
  EXPECT_EQ(store_->dialect(), postgres() ? Dialect::kPostgres : Dialect::kSqlite);

  auto rows = ReadRows("SELECT which FROM d ORDER BY id");
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->Text(0, 0), postgres() ? "postgres" : "sqlite");
  EXPECT_EQ(rows->Text(1, 0), "both");
}

TEST_P(MetadataStoreTest, FailedMigrationKeepsNothingOfItselfAndStops) {
  std::vector<Migration> migrations = {
      {1, "good", "CREATE TABLE good (x BIGINT)", ""},
      {2, "broken", "CREATE TABLE half (x BIGINT); INSERT INTO no_such_table VALUES (1)", ""},
      {3, "later", "CREATE TABLE later (x BIGINT)", ""},
  };
  Status status = store_->Migrate("demo", migrations);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("demo/2"));
  EXPECT_THAT(status.message(), HasSubstr("broken"));

  EXPECT_OK(ReadRows("SELECT x FROM good"));
  EXPECT_FALSE(ReadRows("SELECT x FROM half").ok()) << "half of migration 2 was kept";
  EXPECT_FALSE(ReadRows("SELECT x FROM later").ok()) << "migration 3 ran after 2 failed";
  EXPECT_EQ(ReadInts("SELECT version FROM schema_migrations WHERE component = 'demo'"),
            (std::vector<int64_t>{1}));

  // Fixing the migration lets the next start carry on.
  migrations[1].sql = "CREATE TABLE half (x BIGINT)";
  ASSERT_OK(store_->Migrate("demo", migrations));
  EXPECT_OK(ReadRows("SELECT x FROM half"));
  EXPECT_OK(ReadRows("SELECT x FROM later"));
}

TEST_P(MetadataStoreTest, ComponentsMigrateIndependently) {
  std::vector<Migration> a = {{1, "a", "CREATE TABLE table_a (x BIGINT)", ""}};
  std::vector<Migration> b = {{1, "b", "CREATE TABLE table_b (x BIGINT)", ""}};
  ASSERT_OK(store_->Migrate("a", a));
  ASSERT_OK(store_->Migrate("b", b));
  EXPECT_OK(ReadRows("SELECT x FROM table_a"));
  EXPECT_OK(ReadRows("SELECT x FROM table_b"));
  EXPECT_EQ(ReadInt("SELECT COUNT(*) FROM schema_migrations"), 2);
}

// ---- Writes ---------------------------------------------------------------

TEST_P(MetadataStoreTest, WriteKeepsNothingWhenTheCallbackFails) {
  ASSERT_OK(Script("CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT)"));
  ASSERT_OK(store_->Write([](SqlSession& db) {
    return db.Execute("INSERT INTO kv (k, v) VALUES (?, ?)", {std::string("kept"), int64_t{1}})
        .status();
  }));

  Status status = store_->Write([](SqlSession& db) -> Status {
    RETURN_IF_ERROR(
        db.Execute("INSERT INTO kv (k, v) VALUES (?, ?)", {std::string("a"), int64_t{1}}).status());
    RETURN_IF_ERROR(
        db.Execute("INSERT INTO kv (k, v) VALUES (?, ?)", {std::string("b"), int64_t{2}}).status());
    RETURN_IF_ERROR(db.Execute("UPDATE kv SET v = 100 WHERE k = 'kept'").status());
    RETURN_IF_ERROR(db.ExecuteScript("CREATE TABLE side_effect (x BIGINT)"));
    return FailedPrecondition("the model is archived");
  });
  EXPECT_EQ(status, FailedPrecondition("the model is archived"));  // The callback's own error.

  EXPECT_EQ(ReadInt("SELECT COUNT(*) FROM kv"), 1);
  EXPECT_EQ(ReadInt("SELECT v FROM kv WHERE k = 'kept'"), 1);
  EXPECT_FALSE(ReadRows("SELECT x FROM side_effect").ok());
}

TEST_P(MetadataStoreTest, DuplicateKeyIsAlreadyExists) {
  ASSERT_OK(Script("CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT UNIQUE, name TEXT)"));
  auto insert = [&](int64_t id, const std::string& email, const std::string& name) {
    return store_->Write([&](SqlSession& db) {
      return db.Execute("INSERT INTO users (id, email, name) VALUES (?, ?, ?)", {id, email, name})
          .status();
    });
  };
  ASSERT_OK(insert(1, "ada@example.com", "Ada"));

  Status same_key = insert(1, "other@example.com", "Impostor");
  EXPECT_THAT(same_key, ::cairn::testing::StatusIs(StatusCode::kAlreadyExists))
      << same_key.ToString();
  Status same_email = insert(2, "ada@example.com", "Impostor");
  EXPECT_THAT(same_email, ::cairn::testing::StatusIs(StatusCode::kAlreadyExists))
      << same_email.ToString();

  auto rows = ReadRows("SELECT id, name FROM users");
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->Text(0, 1), "Ada");

  // SQLite's INTEGER PRIMARY KEY is the rowid, which reports conflicts its own way.
  ASSERT_OK(Script("CREATE TABLE ids (id INTEGER PRIMARY KEY, label TEXT)"));
  auto insert_id = [&](int64_t id) {
    return store_->Write([&](SqlSession& db) {
      return db.Execute("INSERT INTO ids (id, label) VALUES (?, 'x')", {id}).status();
    });
  };
  ASSERT_OK(insert_id(7));
  Status same_rowid = insert_id(7);
  EXPECT_THAT(same_rowid, ::cairn::testing::StatusIs(StatusCode::kAlreadyExists))
      << same_rowid.ToString();
}

TEST_P(MetadataStoreTest, OnConflictWorksOnBothDialects) {
  ASSERT_OK(Script("CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)"));
  auto run = [&](const std::string& sql, int64_t v) -> StatusOr<int64_t> {
    int64_t changed = -1;
    Status status = store_->Write([&](SqlSession& db) -> Status {
      ASSIGN_OR_RETURN(changed, db.Execute(sql, {std::string("key"), v}));
      return Status::Ok();
    });
    if (!status.ok()) return status;
    return changed;
  };
  const std::string ignore = "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING";
  const std::string upsert =
      "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v";

  auto first = run(ignore, 1);
  ASSERT_OK(first);
  EXPECT_EQ(*first, 1);
  auto second = run(ignore, 2);
  ASSERT_OK(second);
  EXPECT_EQ(*second, 0);
  EXPECT_EQ(ReadInt("SELECT v FROM kv WHERE k = 'key'"), 1);

  auto updated = run(upsert, 10);
  ASSERT_OK(updated);
  EXPECT_EQ(*updated, 1);
  EXPECT_EQ(ReadInt("SELECT v FROM kv WHERE k = 'key'"), 11);
}

TEST_P(MetadataStoreTest, ExecuteReturnsRowsChanged) {
  ASSERT_OK(Script("CREATE TABLE n (x BIGINT)"));
  ASSERT_OK(store_->Write([](SqlSession& db) -> Status {
    for (int64_t i = 0; i < 5; ++i) {
      ASSIGN_OR_RETURN(int64_t changed, db.Execute("INSERT INTO n (x) VALUES (?)", {i}));
      if (changed != 1) return Internal("insert changed " + std::to_string(changed));
    }
    ASSIGN_OR_RETURN(int64_t updated,
                     db.Execute("UPDATE n SET x = x + 10 WHERE x >= ?", {int64_t{2}}));
    if (updated != 3) return Internal("update changed " + std::to_string(updated));
    ASSIGN_OR_RETURN(int64_t deleted, db.Execute("DELETE FROM n WHERE x < 0"));
    if (deleted != 0) return Internal("delete changed " + std::to_string(deleted));
    return Status::Ok();
  }));
}

TEST_P(MetadataStoreTest, ReturningGivesGeneratedKeys) {
  std::vector<Migration> migrations = {
      {1, "runs", "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL)",
       "CREATE TABLE runs (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL)"}};
  ASSERT_OK(store_->Migrate("runs", migrations));

  int64_t first = 0;
  int64_t second = 0;
  ASSERT_OK(store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(
        SqlRows a, db.Query("INSERT INTO runs (name) VALUES (?) RETURNING id", {std::string("a")}));
    ASSIGN_OR_RETURN(
        SqlRows b, db.Query("INSERT INTO runs (name) VALUES (?) RETURNING id", {std::string("b")}));
    if (a.size() != 1 || b.size() != 1) return Internal("RETURNING gave no row");
    if (!std::holds_alternative<int64_t>(a.at(0, 0))) return Internal("id is not an integer");
    first = a.Int(0, 0);
    second = b.Int(0, 0);
    return Status::Ok();
  }));
  EXPECT_GT(first, 0);
  EXPECT_GT(second, first);

  std::string renamed;
  ASSERT_OK(store_->Write([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows, db.Query("UPDATE runs SET name = ? WHERE id = ? RETURNING name",
                                            {std::string("renamed"), second}));
    if (rows.size() != 1) return Internal("UPDATE RETURNING gave no row");
    renamed = rows.Text(0, 0);
    return Status::Ok();
  }));
  EXPECT_EQ(renamed, "renamed");
  EXPECT_EQ(ReadInt("SELECT COUNT(*) FROM runs WHERE name = 'renamed'"), 1);
}

// ---- Values ---------------------------------------------------------------

// Runs `values` through a table column of `type` and back, one row each.
std::vector<SqlValue> RoundTrip(MetadataStore& store, const std::string& type,
                                const std::vector<SqlValue>& values) {
  std::vector<SqlValue> out;
  Status status = store.Write([&](SqlSession& db) -> Status {
    RETURN_IF_ERROR(db.ExecuteScript("CREATE TABLE vals (id BIGINT PRIMARY KEY, v " + type + ")"));
    for (size_t i = 0; i < values.size(); ++i) {
      RETURN_IF_ERROR(
          db.Execute("INSERT INTO vals (id, v) VALUES (?, ?)", {static_cast<int64_t>(i), values[i]})
              .status());
    }
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  status = store.Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT v FROM vals ORDER BY id"));
    for (size_t r = 0; r < rows.size(); ++r) out.push_back(rows.at(r, 0));
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

// Bit-exact, so -0.0 differs from 0.0 and NaN equals NaN.
bool SameValue(const SqlValue& a, const SqlValue& b) {
  if (a.index() != b.index()) return false;
  if (const auto* d = std::get_if<double>(&a)) {
    return std::bit_cast<uint64_t>(*d) == std::bit_cast<uint64_t>(std::get<double>(b));
  }
  return a == b;
}

std::string Describe(const SqlValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return "int " + std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "double %.17g", *d);
    return buffer;
  }
  if (const auto* s = std::get_if<std::string>(&v)) return "text '" + *s + "'";
  return "NULL";
}

void ExpectSameValues(const std::vector<SqlValue>& got, const std::vector<SqlValue>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(SameValue(got[i], want[i]))
        << "row " << i << ": got " << Describe(got[i]) << ", want " << Describe(want[i]);
  }
}

TEST_P(MetadataStoreTest, IntegersRoundTripExactly) {
  std::vector<SqlValue> values = {std::numeric_limits<int64_t>::min(),
                                  std::numeric_limits<int64_t>::max(),
                                  int64_t{0},
                                  int64_t{-1},
                                  int64_t{(int64_t{1} << 53) + 1},
                                  std::monostate{}};
  ExpectSameValues(RoundTrip(*store_, "BIGINT", values), values);
}

TEST_P(MetadataStoreTest, DoublesRoundTripExactly) {
  std::vector<SqlValue> values = {
      0.1,
      1.0 / 3.0,
      1e-300,
      -2.5e10,
      std::numeric_limits<double>::max(),
      std::numeric_limits<double>::lowest(),
      std::numeric_limits<double>::min(),
      std::numeric_limits<double>::denorm_min(),
      std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(),
      0.0,
      std::monostate{},
  };
  ExpectSameValues(RoundTrip(*store_, "DOUBLE PRECISION", values), values);
}

TEST_P(MetadataStoreTest, NaNAndNegativeZeroRoundTrip) {
  if (!postgres()) {
    // SQLite has no NaN (it binds as NULL) and stores whole REAL values as
    // integers, so -0.0 reads back as 0.0. Callers that need them must encode
    // them (as MLflow does with an is_nan column).
    GTEST_SKIP() << "SQLite cannot store NaN or -0.0 in a REAL column";
  }
  std::vector<SqlValue> values = {std::numeric_limits<double>::quiet_NaN(), -0.0};
  ExpectSameValues(RoundTrip(*store_, "DOUBLE PRECISION", values), values);
}

TEST_P(MetadataStoreTest, TextRoundTripsExactly) {
  std::vector<SqlValue> values = {
      std::string(""),
      std::string("plain"),
      std::string("h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001F389"),
      std::string("quote ' double \" question ? backslash \\ percent % dollar $1 $$"),
      std::string("line1\nline2\ttab\r\n"),
      std::string(10000, 'x'),
      std::monostate{},
  };
  ExpectSameValues(RoundTrip(*store_, "TEXT", values), values);
}

TEST_P(MetadataStoreTest, ParametersComeBackWithTheirType) {
  auto rows =
      ReadRows("SELECT ?, ?, ?, ?", {int64_t{42}, 2.5, std::string("text"), std::monostate{}});
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  ExpectSameValues({rows->at(0, 0), rows->at(0, 1), rows->at(0, 2), rows->at(0, 3)},
                   {int64_t{42}, 2.5, std::string("text"), std::monostate{}});

  // Aggregates a caller relies on: COUNT is an integer, AVG a number.
  ASSERT_OK(Script("CREATE TABLE m (x BIGINT); INSERT INTO m (x) VALUES (1), (2)"));
  auto aggregates = ReadRows("SELECT COUNT(*), AVG(x), MAX(x) FROM m");
  ASSERT_OK(aggregates);
  EXPECT_TRUE(std::holds_alternative<int64_t>(aggregates->at(0, 0)));
  EXPECT_EQ(aggregates->Int(0, 0), 2);
  EXPECT_TRUE(std::holds_alternative<double>(aggregates->at(0, 1)));
  EXPECT_EQ(aggregates->Double(0, 1), 1.5);
  EXPECT_TRUE(std::holds_alternative<int64_t>(aggregates->at(0, 2)));
}

TEST_P(MetadataStoreTest, QuestionMarksInLiteralsCommentsAndIdentifiersAreNotParameters) {
  ASSERT_OK(Script("CREATE TABLE odd (\"what?\" TEXT)"));
  ASSERT_OK(store_->Write([](SqlSession& db) {
    return db
        .Execute("INSERT INTO odd (\"what?\") VALUES (?) -- a ? in a comment\n",
                 {std::string("value")})
        .status();
  }));
  auto rows = ReadRows("SELECT \"what?\", '?', 'it''s ?', ? /* ? */ FROM odd WHERE \"what?\" = ?",
                       {std::string("param"), std::string("value")});
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->Text(0, 0), "value");
  EXPECT_EQ(rows->Text(0, 1), "?");
  EXPECT_EQ(rows->Text(0, 2), "it's ?");
  EXPECT_EQ(rows->Text(0, 3), "param");
}

// ---- Group commit ---------------------------------------------------------

TEST_P(MetadataStoreTest, ConcurrentWritesAllLandAndFailAlone) {
  ASSERT_OK(Script("CREATE TABLE events (id BIGINT PRIMARY KEY, thread BIGINT, seq BIGINT)"));
  constexpr int kThreads = 16;
  constexpr int kWritesPerThread = 200;
  std::vector<std::vector<Status>> results(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        int64_t id = int64_t{t} * kWritesPerThread + i;
        bool fail = i % 10 == 9;
        results[t].push_back(store_->Write([&](SqlSession& db) -> Status {
          RETURN_IF_ERROR(db.Execute("INSERT INTO events (id, thread, seq) VALUES (?, ?, ?)",
                                     {id, int64_t{t}, int64_t{i}})
                              .status());
          if (fail) return FailedPrecondition("rejected " + std::to_string(id));
          return Status::Ok();
        }));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  std::vector<int64_t> want;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kWritesPerThread; ++i) {
      int64_t id = int64_t{t} * kWritesPerThread + i;
      const Status& got = results[t][i];
      if (i % 10 == 9) {
        EXPECT_EQ(got, FailedPrecondition("rejected " + std::to_string(id)));
      } else {
        EXPECT_TRUE(got.ok()) << "write " << id << ": " << got.ToString();
        want.push_back(id);
      }
    }
  }
  EXPECT_EQ(ReadInts("SELECT id FROM events ORDER BY id"), want);
  EXPECT_EQ(want.size(), size_t{kThreads * kWritesPerThread * 9 / 10});
}

TEST_P(MetadataStoreTest, AsyncWritesSharingATransactionFailAloneAndLandOnce) {
  // WriteAsync batches first run without savepoints; a failure rolls the
  // batch back and runs it again write by write. Each write that succeeds
  // must land exactly once (a second landing would fail on the primary key),
  // and a failed write must leave nothing behind.
  ASSERT_OK(Script("CREATE TABLE async_events (id BIGINT PRIMARY KEY, note TEXT)"));
  // Hold the commit thread, so that every write below queues up behind it
  // and they share transactions.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> holding;
  store_->WriteAsync(
      [&holding, released](SqlSession&) {
        holding.set_value();
        released.wait();
        return Status::Ok();
      },
      [](Status) {}, MetadataStore::WriteSize::kLarge);
  holding.get_future().wait();

  constexpr int64_t kWrites = 1500;
  auto fails = [](int64_t id) { return id % 37 == 5; };
  std::atomic<int64_t> runs{0};
  std::vector<std::future<Status>> results;
  for (int64_t id = 0; id < kWrites; ++id) {
    auto answer = std::make_shared<std::promise<Status>>();
    results.push_back(answer->get_future());
    store_->WriteAsync(
        [id, fails, &runs](SqlSession& db) -> Status {
          ++runs;
          RETURN_IF_ERROR(
              db.Execute("INSERT INTO async_events (id, note) VALUES (?, 'a')", {id}).status());
          RETURN_IF_ERROR(
              db.Execute("UPDATE async_events SET note = 'b' WHERE id = ?", {id}).status());
          if (fails(id)) return FailedPrecondition("rejected " + std::to_string(id));
          return Status::Ok();
        },
        [answer](Status status) { answer->set_value(std::move(status)); },
        MetadataStore::WriteSize::kLarge);
  }
  release.set_value();

  std::vector<int64_t> want;
  for (int64_t id = 0; id < kWrites; ++id) {
    Status got = results[static_cast<size_t>(id)].get();
    if (fails(id)) {
      EXPECT_EQ(got, FailedPrecondition("rejected " + std::to_string(id)));
    } else {
      EXPECT_TRUE(got.ok()) << "write " << id << ": " << got.ToString();
      want.push_back(id);
    }
  }
  EXPECT_EQ(ReadInts("SELECT id FROM async_events ORDER BY id"), want);
  EXPECT_EQ(ReadInt("SELECT COUNT(*) FROM async_events WHERE note <> 'b'"), 0);
  // The failures made their batches run twice.
  EXPECT_GT(runs.load(), kWrites);
}

TEST_P(MetadataStoreTest, SmallWriteAsyncOnAnIdleStoreIsDurableBeforeItReturns) {
  ASSERT_OK(Script("CREATE TABLE lone (id BIGINT PRIMARY KEY)"));
  // Nothing else writes, so each write commits on this thread and is
  // acknowledged (durably, with its own status) before WriteAsync returns.
  for (int64_t i = 0; i < 5; ++i) {
    std::atomic<int> calls{0};
    Status got = Internal("not answered");
    store_->WriteAsync(
        [i](SqlSession& db) {
          RETURN_IF_ERROR(db.Execute("INSERT INTO lone (id) VALUES (?)", {i}).status());
          if (i == 3) return FailedPrecondition("third refused");
          return Status::Ok();
        },
        [&](Status status) {
          got = std::move(status);
          ++calls;
        },
        MetadataStore::WriteSize::kSmall);
    EXPECT_EQ(calls.load(), 1) << "write " << i;
    EXPECT_EQ(got, i == 3 ? FailedPrecondition("third refused") : Status::Ok()) << "write " << i;
  }
  EXPECT_EQ(ReadInts("SELECT id FROM lone ORDER BY id"), (std::vector<int64_t>{0, 1, 2, 4}));
}

TEST_P(MetadataStoreTest, LargeWriteAsyncNeverRunsOnTheCallersThread) {
  ASSERT_OK(Script("CREATE TABLE big (id BIGINT PRIMARY KEY)"));
  // A large write would hold an IO thread for a whole commit: it always goes
  // to the commit thread, even on an idle store.
  std::promise<std::thread::id> ran_on;
  store_->WriteAsync(
      [](SqlSession& db) { return db.Execute("INSERT INTO big (id) VALUES (1)").status(); },
      [&](Status status) {
        EXPECT_TRUE(status.ok()) << status.ToString();
        ran_on.set_value(std::this_thread::get_id());
      },
      MetadataStore::WriteSize::kLarge);
  EXPECT_NE(ran_on.get_future().get(), std::this_thread::get_id());
  EXPECT_EQ(ReadInt("SELECT COUNT(*) FROM big"), 1);
}

TEST_P(MetadataStoreTest, ConcurrentDuplicatesExactlyOneWins) {
  ASSERT_OK(Script("CREATE TABLE names (name TEXT PRIMARY KEY, owner BIGINT)"));
  constexpr int kThreads = 8;
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      results[t] = store_->Write([&](SqlSession& db) {
        return db
            .Execute("INSERT INTO names (name, owner) VALUES (?, ?)",
                     {std::string("taken"), int64_t{t}})
            .status();
      });
    });
  }
  for (std::thread& thread : threads) thread.join();
  int winner = -1;
  for (int t = 0; t < kThreads; ++t) {
    if (results[t].ok()) {
      EXPECT_EQ(winner, -1) << "two writers inserted the same key";
      winner = t;
    } else {
      EXPECT_THAT(results[t], ::cairn::testing::StatusIs(StatusCode::kAlreadyExists))
          << results[t].ToString();
    }
  }
  ASSERT_NE(winner, -1);
  EXPECT_EQ(ReadInt("SELECT owner FROM names WHERE name = 'taken'"), winner);
}

TEST_P(MetadataStoreTest, AWriteThatIgnoresAFailedStatementNeverLosesAcknowledgedData) {
  // The contract says a callback must return a failed statement's error; one
  // that does not must still never be told "OK" for data that was not kept.
  ASSERT_OK(Script("CREATE TABLE kv (k TEXT PRIMARY KEY)"));
  ASSERT_OK(store_->Write(
      [](SqlSession& db) { return db.Execute("INSERT INTO kv (k) VALUES ('dup')").status(); }));
  Status status = store_->Write([](SqlSession& db) -> Status {
    RETURN_IF_ERROR(db.Execute("INSERT INTO kv (k) VALUES ('new')").status());
    db.Execute("INSERT INTO kv (k) VALUES ('dup')").status().IgnoreError();
    return Status::Ok();
  });
  int64_t kept = ReadInt("SELECT COUNT(*) FROM kv WHERE k = 'new'");
  if (status.ok()) {
    EXPECT_EQ(kept, 1) << "Write returned OK but its row is gone";
  } else {
    EXPECT_EQ(kept, 0) << "Write failed but kept a row: " << status.ToString();
  }
  // The store is still usable.
  EXPECT_OK(store_->Write(
      [](SqlSession& db) { return db.Execute("INSERT INTO kv (k) VALUES ('after')").status(); }));
  EXPECT_EQ(ReadInt("SELECT COUNT(*) FROM kv WHERE k = 'after'"), 1);
}

// ---- Reads ----------------------------------------------------------------

TEST_P(MetadataStoreTest, ReadSeesEveryAcknowledgedWrite) {
  ASSERT_OK(Script("CREATE TABLE seen (x BIGINT)"));
  for (int64_t i = 0; i < 20; ++i) {
    ASSERT_OK(store_->Write([&](SqlSession& db) {
      return db.Execute("INSERT INTO seen (x) VALUES (?)", {i}).status();
    }));
    ASSERT_EQ(ReadInt("SELECT COUNT(*) FROM seen"), i + 1);
  }
}

TEST_P(MetadataStoreTest, ReadReturnsTheCallbackError) {
  Status status = store_->Read([](SqlSession&) { return NotFound("no such run"); });
  EXPECT_EQ(status, NotFound("no such run"));
  // A failing query leaves the pooled connection usable.
  EXPECT_FALSE(ReadRows("SELECT * FROM no_such_table").ok());
  EXPECT_EQ(ReadInt("SELECT 7"), 7);
}

TEST_P(MetadataStoreTest, ReadIsAConsistentSnapshot) {
  ASSERT_OK(Script("CREATE TABLE snap (x BIGINT); INSERT INTO snap (x) VALUES (1)"));
  int64_t before = -1;
  int64_t after = -1;
  ASSERT_OK(store_->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows first, db.Query("SELECT COUNT(*) FROM snap"));
    before = first.Int(0, 0);
    // Another request commits while this read is in progress.
    Status write = std::async(std::launch::async, [&] {
                     return store_->Write([](SqlSession& w) {
                       return w.Execute("INSERT INTO snap (x) VALUES (2)").status();
                     });
                   }).get();
    RETURN_IF_ERROR(write);
    ASSIGN_OR_RETURN(SqlRows second, db.Query("SELECT COUNT(*) FROM snap"));
    after = second.Int(0, 0);
    return Status::Ok();
  }));
  EXPECT_EQ(before, 1);
  EXPECT_EQ(after, 1);
  EXPECT_EQ(ReadInt("SELECT COUNT(*) FROM snap"), 2);
}

TEST_P(MetadataStoreTest, ConcurrentReadersAndWritersAgree) {
  ASSERT_OK(Script("CREATE TABLE pairs (a BIGINT, b BIGINT)"));
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  constexpr int kReaders = 4;
  std::vector<std::thread> readers;
  readers.reserve(kReaders);
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        // Writers insert rows in pairs, so a snapshot always holds an even count.
        Status status = store_->Read([&](SqlSession& db) -> Status {
          ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT COUNT(*) FROM pairs"));
          if (rows.Int(0, 0) % 2 != 0) torn.fetch_add(1);
          return Status::Ok();
        });
        if (!status.ok()) torn.fetch_add(1);
      }
    });
  }
  for (int64_t i = 0; i < 50; ++i) {
    ASSERT_OK(store_->Write([&](SqlSession& db) -> Status {
      RETURN_IF_ERROR(db.Execute("INSERT INTO pairs (a, b) VALUES (?, 0)", {i}).status());
      return db.Execute("INSERT INTO pairs (a, b) VALUES (?, 1)", {i}).status();
    }));
  }
  done = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(ReadInt("SELECT COUNT(*) FROM pairs"), 100);
}

// ---- Durability -----------------------------------------------------------

TEST_P(MetadataStoreTest, CommittedDataSurvivesReopen) {
  std::vector<Migration> migrations = {
      {1, "notes", "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT, score DOUBLE PRECISION)",
       ""}};
  ASSERT_OK(store_->Migrate("notes", migrations));
  for (int64_t i = 0; i < 10; ++i) {
    ASSERT_OK(store_->Write([&](SqlSession& db) {
      return db
          .Execute("INSERT INTO notes (id, body, score) VALUES (?, ?, ?)",
                   {i, "note " + std::to_string(i), static_cast<double>(i) / 4})
          .status();
    }));
  }
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_OK(store_->Migrate("notes", migrations));
  auto rows = ReadRows("SELECT id, body, score FROM notes ORDER BY id");
  ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(rows->Int(i, 0), static_cast<int64_t>(i));
    EXPECT_EQ(rows->Text(i, 1), "note " + std::to_string(i));
    EXPECT_EQ(rows->Double(i, 2), static_cast<double>(i) / 4);
  }
}

TEST_P(MetadataStoreTest, AcknowledgedWritesSurviveKill9) {
  ASSERT_OK(Script("CREATE TABLE acked (id BIGINT PRIMARY KEY)"));
  store_.reset();  // No store threads may be running across fork().
  constexpr int64_t kRows = 50;
  pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    // The child acknowledges writes, then dies without any chance to flush.
    auto opened = registry_.Open(uri_);
    if (!opened.ok()) _exit(2);
    for (int64_t i = 0; i < kRows; ++i) {
      Status status = (*opened)->Write([&](SqlSession& db) {
        return db.Execute("INSERT INTO acked (id) VALUES (?)", {i}).status();
      });
      if (!status.ok()) _exit(3);
    }
    raise(SIGKILL);
    _exit(4);
  }
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
      << "child failed before acknowledging all writes (exit " << WEXITSTATUS(wait_status) << ")";
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(ReadInt("SELECT COUNT(*) FROM acked"), kRows);
}

// ---- SQLite specifics -----------------------------------------------------

class SqliteWalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "cairn_wal_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/meta.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  int64_t WalBytes() const {
    std::error_code ec;
    auto size = std::filesystem::file_size(path_ + "-wal", ec);
    return ec ? -1 : static_cast<int64_t>(size);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(SqliteWalTest, FullDurabilityWritesTheWalOutOnceAndKeepsItAcrossRestarts) {
  constexpr int64_t kWorkingSize = 40 << 20;  // At least the 10,000-page checkpoint interval.
  {
    auto store = OpenSqliteStore(path_, Durability::kFull);
    ASSERT_OK(store.status());
    EXPECT_GE(WalBytes(), kWorkingSize);
    ASSERT_OK((*store)->Write([](SqlSession& db) -> Status {
      RETURN_IF_ERROR(db.ExecuteScript("CREATE TABLE t (id BIGINT PRIMARY KEY, body TEXT)"));
      for (int64_t i = 0; i < 2000; ++i) {
        RETURN_IF_ERROR(
            db.Execute("INSERT INTO t (id, body) VALUES (?, ?)", {i, std::string(500, 'x')})
                .status());
      }
      return Status::Ok();
    }));
  }
  // Closed: the WAL file stays, written, for the next start.
  int64_t kept = WalBytes();
  EXPECT_GE(kept, kWorkingSize);
  auto store = OpenSqliteStore(path_, Durability::kFull);
  ASSERT_OK(store.status());
  EXPECT_EQ(WalBytes(), kept) << "a reopened store must not rewrite its WAL";
  int64_t count = -1;
  ASSERT_OK((*store)->Write([](SqlSession& db) {
    return db.Execute("INSERT INTO t (id, body) VALUES (?, ?)", {int64_t{2000}, "after"}).status();
  }));
  ASSERT_OK((*store)->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT COUNT(*) FROM t"));
    count = rows.Int(0, 0);
    return Status::Ok();
  }));
  EXPECT_EQ(count, 2001);
}

TEST_F(SqliteWalTest, ProcessDurabilityLeavesTheWalToGrow) {
  auto store = OpenSqliteStore(path_, Durability::kProcess);
  ASSERT_OK(store.status());
  EXPECT_LT(WalBytes(), 1 << 20);
}

// ---- PostgreSQL specifics -------------------------------------------------

TEST(PostgresStoreTest, RedactsPasswords) {
  EXPECT_EQ(RedactPostgresUri("postgresql://alice:s3cret@db.example:5432/cairn"),
            "postgresql://alice@db.example:5432/cairn");
  EXPECT_EQ(RedactPostgresUri("postgres://alice@db/cairn"), "postgres://alice@db/cairn");
  EXPECT_EQ(RedactPostgresUri("postgresql://db/cairn"), "postgresql://db/cairn");
  EXPECT_EQ(RedactPostgresUri("postgresql://:pw@db/cairn"), "postgresql://@db/cairn");
  EXPECT_EQ(RedactPostgresUri("postgresql://a:p@ss/w@rd@db/cairn?sslmode=require"),
            "postgresql://a@db/cairn?sslmode=require");
  EXPECT_EQ(
      RedactPostgresUri("postgresql://db/cairn?user=a&password=hunter2&sslpassword=x&sslmode=off"),
      "postgresql://db/cairn?user=a&sslmode=off");
  EXPECT_EQ(RedactPostgresUri("postgresql://db/cairn?password=hunter2"), "postgresql://db/cairn");
}

TEST(PostgresStoreTest, UnreachableServerIsUnavailableAndHidesThePassword) {
  // Port 1 on loopback: nothing listens there, so the connection is refused.
  auto opened = OpenPostgresStore("postgresql://cairn:hunter2@127.0.0.1:1/cairn");
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened, ::cairn::testing::StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(opened.status().message(),
              HasSubstr("Cannot connect to PostgreSQL at postgresql://cairn@127.0.0.1:1/cairn: "));
  EXPECT_THAT(opened.status().message(), HasSubstr("refused"));
  EXPECT_THAT(opened.status().message(), Not(HasSubstr("hunter2")));
}

TEST(PostgresStoreTest, MalformedUriIsUnavailableWithLibpqReason) {
  auto opened = OpenPostgresStore("postgresql://cairn:hunter2@127.0.0.1:notaport/cairn");
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened, ::cairn::testing::StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(opened.status().message(), HasSubstr("Cannot connect to PostgreSQL at "));
  EXPECT_THAT(opened.status().message(), HasSubstr("notaport"));
  EXPECT_THAT(opened.status().message(), Not(HasSubstr("hunter2")));
}

TEST(PostgresStoreTest, OtherSchemesAreRejected) {
  EXPECT_THAT(OpenPostgresStore("mysql://db/cairn"),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenPostgresStore("host=db password=x"),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
}

class PostgresServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = PostgresUriFromEnv();
    if (base_.empty()) GTEST_SKIP() << kHowToRunPostgres;
    schema_ = std::make_unique<ScratchSchema>(base_);
    ASSERT_OK(schema_->Create());
  }

  std::string base_;
  std::unique_ptr<ScratchSchema> schema_;
};

TEST_F(PostgresServerTest, BothSchemesAreRegisteredAndDisplayUriHasNoPassword) {
  // A server that trusts the client (as pg-test-cluster's does) ignores a
  // password it did not ask for; one that wants a password has it in the URI.
  std::string uri = schema_->uri();
  std::vector<std::string> candidates;
  if (RedactPostgresUri(uri) != uri) {
    candidates.push_back(uri);
  } else {
    candidates.push_back(uri + "&password=hunter2");
    size_t at = uri.find('@');
    if (at != std::string::npos) {
      candidates.push_back(uri.substr(0, at) + ":hunter2" + uri.substr(at));
    }
  }
  candidates.push_back("postgres://" + candidates.back().substr(candidates.back().find("://") + 3));

  MetadataStoreRegistry registry = AllBackends();
  for (const std::string& candidate : candidates) {
    auto opened = registry.Open(candidate);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ((*opened)->dialect(), Dialect::kPostgres);
    EXPECT_EQ((*opened)->DisplayUri(), RedactPostgresUri(candidate));
    EXPECT_NE((*opened)->DisplayUri(), candidate);
    EXPECT_THAT((*opened)->DisplayUri(), Not(HasSubstr("hunter2")));
  }
}

TEST_F(PostgresServerTest, ErrorsCarryPostgresMessages) {
  auto opened = OpenPostgresStore(schema_->uri());
  ASSERT_OK(opened);
  MetadataStore& store = **opened;
  Status missing =
      store.Read([](SqlSession& db) { return db.Query("SELECT * FROM nope").status(); });
  EXPECT_THAT(missing, ::cairn::testing::StatusIs(StatusCode::kInternal));
  EXPECT_THAT(missing.message(), HasSubstr("relation \"nope\" does not exist"));

  Status read_only =
      store.Read([](SqlSession& db) { return db.ExecuteScript("CREATE TABLE sneaky (x BIGINT)"); });
  EXPECT_FALSE(read_only.ok()) << "Read transactions must be read-only";

  Status count =
      store.Read([](SqlSession& db) { return db.Query("SELECT ?, ?", {int64_t{1}}).status(); });
  EXPECT_THAT(count, ::cairn::testing::StatusIs(StatusCode::kInternal));
  EXPECT_THAT(count.message(), HasSubstr("2 ? placeholders but 1 parameters"));
}

TEST_F(PostgresServerTest, DollarQuotesAndEscapeStringsHidePlaceholders) {
  auto opened = OpenPostgresStore(schema_->uri());
  ASSERT_OK(opened);
  SqlRows rows;
  ASSERT_OK((*opened)->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(
        rows, db.Query("SELECT $$a?b$$, $tag$ ? $$ ? $tag$, E'it\\'s ?', ? /* ? /* ? */ ? */",
                       {std::string("p")}));
    return Status::Ok();
  }));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.Text(0, 0), "a?b");
  EXPECT_EQ(rows.Text(0, 1), " ? $$ ? ");
  EXPECT_EQ(rows.Text(0, 2), "it's ?");
  EXPECT_EQ(rows.Text(0, 3), "p");
}

TEST_F(PostgresServerTest, ReconnectsAfterTheServerDropsItsConnections) {
  auto opened = OpenPostgresStore(schema_->uri());
  ASSERT_OK(opened);
  MetadataStore& store = **opened;
  ASSERT_OK(
      store.Write([](SqlSession& db) { return db.ExecuteScript("CREATE TABLE r (x BIGINT)"); }));

  auto backend_pid = [](SqlSession& db, int64_t* pid) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT pg_backend_pid()"));
    *pid = rows.Int(0, 0);
    return Status::Ok();
  };
  auto terminate = [](SqlSession& db, int64_t pid) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows,
                     db.Query("SELECT pg_terminate_backend(CAST(? AS INTEGER), 5000)", {pid}));
    if (rows.Text(0, 0) != "t")
      return Internal("could not terminate backend " + std::to_string(pid));
    return Status::Ok();
  };

  // The writer's session dies between transactions (as on a server restart).
  int64_t writer = 0;
  ASSERT_OK(store.Write([&](SqlSession& db) { return backend_pid(db, &writer); }));
  ASSERT_OK(store.Read([&](SqlSession& db) { return terminate(db, writer); }));
  EXPECT_OK(store.Write(
      [](SqlSession& db) { return db.Execute("INSERT INTO r (x) VALUES (1)").status(); }));

  // So does a pooled reader's.
  int64_t reader = 0;
  ASSERT_OK(store.Read([&](SqlSession& db) { return backend_pid(db, &reader); }));
  ASSERT_OK(store.Write([&](SqlSession& db) { return terminate(db, reader); }));
  int64_t count = -1;
  EXPECT_OK(store.Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows, db.Query("SELECT COUNT(*) FROM r"));
    count = rows.Int(0, 0);
    return Status::Ok();
  }));
  EXPECT_EQ(count, 1);
}

}  // namespace
}  // namespace cairn::store

namespace cairn::store {
namespace {

TEST(TakeDurabilityTest, ReadsAndRemovesTheParameter) {
  std::string uri = "sqlite:///tmp/m.db";
  EXPECT_EQ(*TakeDurability(&uri), Durability::kFull);
  EXPECT_EQ(uri, "sqlite:///tmp/m.db");

  uri = "sqlite:///tmp/m.db?durability=process";
  EXPECT_EQ(*TakeDurability(&uri), Durability::kProcess);
  EXPECT_EQ(uri, "sqlite:///tmp/m.db");

  uri = "postgresql://u@h/db?sslmode=disable&durability=full&connect_timeout=3";
  EXPECT_EQ(*TakeDurability(&uri), Durability::kFull);
  EXPECT_EQ(uri, "postgresql://u@h/db?sslmode=disable&connect_timeout=3");
}

TEST(TakeDurabilityTest, UnknownValueNamesTheChoices) {
  std::string uri = "sqlite:///tmp/m.db?durability=fast";
  auto result = TakeDurability(&uri);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("'fast'"));
  EXPECT_THAT(result.status().message(), HasSubstr("durability=process"));
}

}  // namespace
}  // namespace cairn::store
