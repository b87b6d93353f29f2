// The offline engine's bridge to Cairn's memory: virtual tables read in
// place, by scan (cairn_table) and by row number (cairn_column_<type>), with
// nulls, row maps and errors that say what is wrong.
#include "offline/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "status_testing.h"

namespace cairn::offline {
namespace {

using ::testing::HasSubstr;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(engine_, Engine::Open(2));
    auto source = std::make_shared<Table>();
    source->columns.emplace_back("x", ColumnType::kDouble);
    for (int i = 0; i < 4; ++i) source->columns[0].AppendDouble(i * 1.5);
    auto names = std::make_shared<Table>();
    names->columns.emplace_back("name", ColumnType::kString);
    names->columns[0].AppendString("n0");
    names->columns[0].AppendString("n1");
    names->columns[0].AppendNull();
    // x: source rows 3, none, 0 (through a row map); name: read in place.
    auto map = std::make_shared<const std::vector<int64_t>>(std::vector<int64_t>{3, -1, 0});
    ASSERT_OK(engine_->RegisterVirtualTable(
        "v",
        {{.name = "x", .source = source, .column = 0, .rows = map},
         {.name = "name", .source = names, .column = 0, .rows = nullptr}},
        /*rows=*/3));
  }

  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, ColumnsReadByRowNumberFollowTheRowMapAndKeepNulls) {
  std::string x = VirtualColumnExpr("v", 0, ColumnType::kDouble, "i");
  std::string name = VirtualColumnExpr("v", 1, ColumnType::kString, "i");
  ASSERT_OK_AND_ASSIGN(Table t, engine_->Query("SELECT i, " + x + " AS x, " + name +
                                               " AS name FROM range(5) r(i) ORDER BY i"));
  ASSERT_EQ(t.rows(), 5u);
  const Column& xs = *t.Find("x");
  const Column& names = *t.Find("name");
  EXPECT_DOUBLE_EQ(xs.Double(0), 4.5);  // source row 3
  EXPECT_FALSE(xs.IsValid(1));          // the map says none
  EXPECT_DOUBLE_EQ(xs.Double(2), 0.0);  // source row 0
  EXPECT_FALSE(xs.IsValid(3));          // past the table's 3 rows
  EXPECT_FALSE(xs.IsValid(4));
  EXPECT_EQ(names.String(0), "n0");
  EXPECT_EQ(names.String(1), "n1");
  EXPECT_FALSE(names.IsValid(2));  // stored null
  EXPECT_FALSE(names.IsValid(3));

  // A null row number reads null.
  ASSERT_OK_AND_ASSIGN(Table nulls,
                       engine_->Query("SELECT " + x + " AS x FROM (SELECT NULL::BIGINT AS i)"));
  EXPECT_FALSE(nulls.Find("x")->IsValid(0));
}

TEST_F(EngineTest, TheScanAndTheRowReadsAgree) {
  ASSERT_OK_AND_ASSIGN(Table scanned, engine_->Query("SELECT * FROM cairn_table('v')"));
  ASSERT_EQ(scanned.rows(), 3u);
  EXPECT_DOUBLE_EQ(scanned.Find("x")->Double(0), 4.5);
  EXPECT_FALSE(scanned.Find("x")->IsValid(1));
  EXPECT_FALSE(scanned.Find("name")->IsValid(2));
}

TEST_F(EngineTest, BadColumnReadsSayWhatIsWrong) {
  auto error = [&](const std::string& sql) { return engine_->Query(sql).status().message(); };
  EXPECT_THAT(error("SELECT cairn_column_double('nope', 0, 1)"),
              HasSubstr("no virtual table named 'nope'"));
  EXPECT_THAT(error("SELECT cairn_column_double('v', 7, 1)"),
              HasSubstr("virtual table 'v' has no column 7"));
  EXPECT_THAT(error("SELECT cairn_column_bigint('v', 0, 1)"), HasSubstr("is DOUBLE"));
  EXPECT_THAT(error("SELECT cairn_column_double('v', i, 1) FROM range(2) r(i)"),
              HasSubstr("must be constants"));
}

// A streamed query gives what the gathered one gives, in order, and a
// failure met part-way through the rows is an error, not a short table.
TEST_F(EngineTest, StreamedQueriesMatchGatheredOnesAndReportLateErrors) {
  const std::string sql =
      "SELECT i, 'k' || i::VARCHAR AS k, CASE WHEN i % 7 = 0 THEN NULL ELSE i * 0.5::DOUBLE END AS "
      "x "
      "FROM range(300000) r(i)";
  ASSERT_OK_AND_ASSIGN(Table gathered, engine_->Query(sql));
  ASSERT_OK_AND_ASSIGN(Table streamed, engine_->StreamQuery(sql, 1000));  // a low guess grows
  ASSERT_EQ(streamed.rows(), 300000u);
  for (size_t row = 0; row < streamed.rows(); ++row) {
    ASSERT_EQ(streamed.columns[0].Int(row), gathered.columns[0].Int(row));
    ASSERT_EQ(streamed.columns[1].String(row), gathered.columns[1].String(row));
    ASSERT_EQ(streamed.columns[2].IsValid(row), row % 7 != 0);
  }
  StatusOr<Table> failed = engine_->StreamQuery(
      "SELECT CAST(CASE WHEN i < 250000 THEN i::VARCHAR ELSE 'x' END AS BIGINT) AS v "
      "FROM range(300000) r(i)",
      300000);
  EXPECT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("Could not convert string 'x'"));
  EXPECT_THAT(engine_->StreamQuery("SELECT * FROM nowhere", 1).status().message(),
              HasSubstr("nowhere"));
}

}  // namespace
}  // namespace cairn::offline
