// The payload log against a real folder: records written as JSON lines
// that read back with every field, files rotated and pruned at their
// limits, a full queue dropping (and counting) instead of blocking, and
// deployments logging their sampled requests, shadows and refusals.
#include "serving/payload_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/json.h"
#include "status_testing.h"

namespace cairn::serving {
namespace {

class PayloadLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("payload-log-" + Env::Default()->RandomHex(8));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Every line of every file, oldest file first.
  std::vector<std::string> Lines() const {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<std::string> lines;
    for (const std::string& f : files) {
      std::ifstream in(f);
      for (std::string line; std::getline(in, line);) lines.push_back(line);
    }
    return lines;
  }
  size_t Files() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir_),
                                             std::filesystem::directory_iterator()));
  }
  static PayloadRecord Record(int i) {
    PayloadRecord r;
    r.time_micros = 1'780'000'000'000'000 + i;
    r.deployment = "churn";
    r.variant = "stable";
    r.model_version = "3";
    r.request_id = "req-" + std::to_string(i);
    r.latency_nanos = 12'500;
    r.inputs = {Fp32Tensor("x", {1, 2}, {0.5f, static_cast<float>(i)})};
    Tensor names;
    names.name = "city";
    names.datatype = DataType::kBytes;
    names.shape = {1};
    names.bytes = {"Zürich \"quoted\""};
    r.inputs.push_back(names);
    r.outputs = {Fp32Tensor("predict", {1}, {0.25f})};
    return r;
  }

  std::filesystem::path dir_;
};

TEST_F(PayloadLogTest, RecordsReadBackWithEveryField) {
  auto log = PayloadLog::Open(Env::Default(), {.dir = dir_});
  ASSERT_OK(log.status());
  ASSERT_TRUE((*log)->Append(Record(7)));
  PayloadRecord failed = Record(8);
  failed.outcome = InvalidArgument("input 'x': expected 3 columns");
  failed.outputs.clear();
  failed.shadow = true;
  ASSERT_TRUE((*log)->Append(std::move(failed)));
  (*log)->Flush();
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  json::Document doc;
  ASSERT_OK(json::Parse(lines[0], &doc));
  EXPECT_STREQ(doc["time"].GetString(), "2026-05-28T20:26:40.000007Z");
  EXPECT_STREQ(doc["deployment"].GetString(), "churn");
  EXPECT_STREQ(doc["variant"].GetString(), "stable");
  EXPECT_STREQ(doc["model_version"].GetString(), "3");
  EXPECT_STREQ(doc["request_id"].GetString(), "req-7");
  EXPECT_FALSE(doc["shadow"].GetBool());
  EXPECT_STREQ(doc["status"].GetString(), "ok");
  EXPECT_DOUBLE_EQ(doc["latency_ms"].GetDouble(), 0.0125);
  const auto& x = doc["inputs"][0];
  EXPECT_STREQ(x["name"].GetString(), "x");
  EXPECT_STREQ(x["datatype"].GetString(), "FP32");
  EXPECT_EQ(x["shape"][1].GetInt(), 2);
  EXPECT_EQ(x["data"][1].GetDouble(), 7.0);
  EXPECT_STREQ(doc["inputs"][1]["data"][0].GetString(), "Zürich \"quoted\"");
  EXPECT_EQ(doc["outputs"][0]["data"][0].GetDouble(), 0.25);
  ASSERT_OK(json::Parse(lines[1], &doc));
  EXPECT_STREQ(doc["status"].GetString(), "error");
  EXPECT_STREQ(doc["error_code"].GetString(), "INVALID_ARGUMENT");
  EXPECT_STREQ(doc["error"].GetString(), "input 'x': expected 3 columns");
  EXPECT_TRUE(doc["shadow"].GetBool());
  EXPECT_EQ(doc["outputs"].Size(), 0u);
}

TEST_F(PayloadLogTest, FilesRotateAtTheirSizeAndTheOldestGo) {
  auto log =
      PayloadLog::Open(Env::Default(), {.dir = dir_, .max_file_bytes = 4096, .max_files = 3});
  ASSERT_OK(log.status());
  const size_t line = PayloadRecordJson(Record(1)).size() + 1;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE((*log)->Append(Record(i)));
    (*log)->Flush();  // one record per write: rotation is exact
  }
  EXPECT_EQ(Files(), 3u);
  std::vector<std::string> lines = Lines();
  const size_t per_file = 4096 / line;
  EXPECT_GE(lines.size(), 2 * per_file + 1);
  EXPECT_LE(lines.size(), 3 * per_file);
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_LE(std::filesystem::file_size(e.path()), 4096u);
  }
  // What is kept is the newest, in order.
  EXPECT_NE(lines.back().find("\"req-199\""), std::string::npos);
}

TEST_F(PayloadLogTest, AFullQueueDropsAndCounts) {
  auto log = PayloadLog::Open(Env::Default(), {.dir = dir_, .max_pending_bytes = 1});
  ASSERT_OK(log.status());
  EXPECT_FALSE((*log)->Append(Record(1)));
  EXPECT_FALSE((*log)->Append(Record(2)));
  EXPECT_EQ((*log)->dropped(), 2);
  (*log)->Flush();
  EXPECT_TRUE(Lines().empty());
}

TEST_F(PayloadLogTest, BadOptionsAreRefused) {
  EXPECT_THAT(PayloadLog::Open(Env::Default(), {.dir = dir_, .max_file_bytes = 10}),
              testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(PayloadLog::Open(Env::Default(), {.dir = dir_, .cloudevents_url = "ftp://x"}),
              testing::StatusIs(StatusCode::kInvalidArgument, ::testing::HasSubstr("sink")));
}

}  // namespace
}  // namespace cairn::serving
