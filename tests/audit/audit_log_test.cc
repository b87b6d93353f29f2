// The audit log on SQLite and (with CAIRN_TEST_POSTGRES_URI) PostgreSQL:
// entries commit with the changes they record, and editing, dropping or
// reordering entries directly in the database is detected and named.
#include "audit/audit_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/env.h"
#include "status_testing.h"
#include "store/scratch_database.h"

namespace cairn::audit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class AuditLogTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_OK(database_.Create(GetParam()));
    if (database_.skipped()) GTEST_SKIP() << database_.skip_reason();
    ASSERT_OK_AND_ASSIGN(store_, database_.Open());
    log_ = std::make_unique<AuditLog>(store_.get(), &env_);
    ASSERT_OK(log_->Init());
    store_->SetWriteObserver(log_.get());
    ASSERT_OK(store_->Write([](store::SqlSession& db) {
      return db.ExecuteScript("CREATE TABLE things (id BIGINT PRIMARY KEY, state TEXT)");
    }));
  }

  // One change as `user` asked for it: sets thing `id` to `state`.
  Status Change(const std::string& user, int64_t id, const std::string& state, bool fail = false) {
    auto context = std::make_shared<store::WriteContext>();
    context->user = user;
    context->action = "set thing";
    context->target = "thing " + std::to_string(id);
    context->request = state;
    context->snapshot = [id](store::SqlSession& db) -> StatusOr<std::string> {
      ASSIGN_OR_RETURN(store::SqlRows rows,
                       db.Query("SELECT state FROM things WHERE id = ?", {id}));
      return rows.empty() ? std::string("-") : rows.Text(0, 0);
    };
    store::ScopedWriteContext scope(context);
    env_.AdvanceMicros(1000);
    return store_->Write([&](store::SqlSession& db) -> Status {
      RETURN_IF_ERROR(db.Execute("INSERT INTO things (id, state) VALUES (?, ?) ON CONFLICT (id) "
                                 "DO UPDATE SET state = excluded.state",
                                 {id, state})
                          .status());
      if (fail) return FailedPrecondition("refused");
      return Status::Ok();
    });
  }

  Status Sql(const std::string& sql) {
    return store_->Write([&](store::SqlSession& db) { return db.ExecuteScript(sql); });
  }

  std::vector<std::string> Problems() {
    auto report = log_->Verify();
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? report->problems : std::vector<std::string>{"verify failed"};
  }

  FakeEnv env_;
  store::ScratchDatabase database_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<AuditLog> log_;
};

TEST_P(AuditLogTest, EachChangeIsRecordedWithWhoWhatBeforeAndAfter) {
  ASSERT_OK(Change("alice", 1, "draft"));
  ASSERT_OK(Change("bob", 1, "approved"));
  auto entries = log_->List(0, 10);
  ASSERT_OK(entries.status());
  ASSERT_EQ(entries->size(), 2u);
  const Entry& second = (*entries)[1];
  EXPECT_EQ(second.seq, 2);
  EXPECT_EQ(second.user, "bob");
  EXPECT_EQ(second.target, "thing 1");
  EXPECT_EQ(second.before, "draft");
  EXPECT_EQ(second.after, "approved");
  EXPECT_EQ(second.prev_hash, (*entries)[0].hash);
  EXPECT_EQ(second.hash, AuditLog::HashOf(second));
  EXPECT_THAT(Problems(), IsEmpty());
}

TEST_P(AuditLogTest, AFailedChangeLeavesNoEntryAndWritesWithoutContextNone) {
  ASSERT_OK(Change("alice", 1, "draft"));
  EXPECT_EQ(Change("mallory", 1, "hacked", /*fail=*/true), FailedPrecondition("refused"));
  ASSERT_OK(Sql("INSERT INTO things (id, state) VALUES (9, 'internal')"));  // No context.
  auto entries = log_->List(0, 10);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(entries->front().user, "alice");
}

TEST_P(AuditLogTest, AnEditedEntryIsNamed) {
  for (int i = 0; i < 4; ++i) ASSERT_OK(Change("alice", i, "s" + std::to_string(i)));
  ASSERT_OK(Sql("UPDATE audit_log SET user_name = 'mallory' WHERE seq = 3"));
  EXPECT_THAT(Problems(), ElementsAre(HasSubstr("entry 3 (set thing by 'mallory'): its content "
                                                "was edited")));
}

TEST_P(AuditLogTest, AnEditThatRecomputesTheHashBreaksTheNextLink) {
  for (int i = 0; i < 4; ++i) ASSERT_OK(Change("alice", i, "s" + std::to_string(i)));
  auto entries = log_->List(0, 10);
  Entry forged = (*entries)[1];
  forged.after = "forged";
  forged.hash = AuditLog::HashOf(forged);
  ASSERT_OK(store_->Write([&](store::SqlSession& db) {
    return db
        .Execute("UPDATE audit_log SET after_state = ?, hash = ? WHERE seq = 2",
                 {forged.after, forged.hash})
        .status();
  }));
  EXPECT_THAT(Problems(), ElementsAre(HasSubstr("entry 3: does not follow the entry before it")));
}

TEST_P(AuditLogTest, ADroppedEntryIsNamed) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(Change("alice", i, "s"));
  ASSERT_OK(Sql("DELETE FROM audit_log WHERE seq IN (2, 3)"));
  EXPECT_THAT(Problems(), ElementsAre(HasSubstr("entry 4: entries 2 to 3 are missing")));
}

TEST_P(AuditLogTest, ReorderedEntriesAreNamed) {
  for (int i = 0; i < 4; ++i) ASSERT_OK(Change("alice", i, "s" + std::to_string(i)));
  // Swap entries 2 and 3 wholesale, sequence numbers included.
  ASSERT_OK(
      Sql("UPDATE audit_log SET seq = 100 WHERE seq = 2; "
          "UPDATE audit_log SET seq = 2 WHERE seq = 3; "
          "UPDATE audit_log SET seq = 3 WHERE seq = 100"));
  auto problems = Problems();
  ASSERT_FALSE(problems.empty());
  EXPECT_THAT(problems.front(), HasSubstr("entry 2"));
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditLogTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace cairn::audit
