// The online store suite, run on the embedded LMDB store and on a real Redis
// server (CAIRN_TEST_REDIS_URI, started by scripts/test): the write rule
// (an older row never overwrites a newer one), tables kept apart, binary and
// long keys, and bulk writes.
#include "online/online_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <tuple>

#include "online/lmdb/lmdb_online_store.h"
#include "online/redis/redis_online_store.h"
#include "status_testing.h"

namespace cairn::online {
namespace {

class OnlineStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    static int counter = 0;
    // Each test gets its own tables, so tests sharing a Redis never collide.
    prefix_ = "t" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "/";
    if (GetParam() == "redis") {
      const char* uri = std::getenv("CAIRN_TEST_REDIS_URI");
      if (uri == nullptr || *uri == '\0') {
        GTEST_SKIP() << "Redis tests skipped: set CAIRN_TEST_REDIS_URI, e.g. "
                        "export CAIRN_TEST_REDIS_URI=$(scripts/redis-test-server start $(mktemp "
                        "-d) | tail -1)";
      }
      ASSERT_OK_AND_ASSIGN(store_, OpenRedisOnlineStore(uri));
    } else {
      dir_ = std::filesystem::temp_directory_path() /
             ("cairn_lmdb_" + prefix_.substr(0, prefix_.size() - 1));
      std::filesystem::remove_all(dir_);
      ASSERT_OK_AND_ASSIGN(store_, OpenLmdbOnlineStore(dir_.string()));
    }
  }
  void TearDown() override {
    if (store_ != nullptr) {
      for (const char* t : {"a", "b", "bulk"}) store_->DropTable(prefix_ + t).IgnoreError();
    }
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  StatusOr<WriteCounts> Put(const std::string& table, const std::string& key, int64_t event,
                            int64_t created, const std::string& values) {
    std::string stored = EncodeStored({event, created, values});
    OnlineWrite write{key, stored};
    return store_->Write(prefix_ + table, std::span<const OnlineWrite>(&write, 1));
  }

  std::optional<OnlineRecord> Get(const std::string& table, const std::string& key) {
    std::vector<std::optional<OnlineRecord>> out;
    std::vector<std::string> keys = {key};
    Status read = store_->Read(prefix_ + table, keys, &out);
    EXPECT_OK(read);
    return out.empty() ? std::nullopt : out[0];
  }

  std::string prefix_;
  std::filesystem::path dir_;
  std::unique_ptr<OnlineStore> store_;
};

TEST_P(OnlineStoreTest, WritesAndReads) {
  ASSERT_OK(Put("a", "k1", 100, 5, "v1").status());
  auto got = Get("a", "k1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->event_micros, 100);
  EXPECT_EQ(got->created_micros, 5);
  EXPECT_EQ(got->values, "v1");
  EXPECT_FALSE(Get("a", "missing").has_value());
  EXPECT_FALSE(Get("b", "k1").has_value());  // tables are apart
}

TEST_P(OnlineStoreTest, AnOlderRowNeverOverwritesANewerOne) {
  ASSERT_OK(Put("a", "k", 200, 10, "newest").status());
  ASSERT_OK_AND_ASSIGN(WriteCounts older, Put("a", "k", 100, 99, "older event"));
  EXPECT_EQ(older.written, 0u);
  EXPECT_EQ(older.kept_newer, 1u);
  ASSERT_OK_AND_ASSIGN(WriteCounts tie_older, Put("a", "k", 200, 9, "same event, older write"));
  EXPECT_EQ(tie_older.written, 0u);
  EXPECT_EQ(Get("a", "k")->values, "newest");
  ASSERT_OK_AND_ASSIGN(WriteCounts correction, Put("a", "k", 200, 11, "a later correction"));
  EXPECT_EQ(correction.written, 1u);
  EXPECT_EQ(Get("a", "k")->values, "a later correction");
  // The same row again is idempotent (a resumed materialization).
  ASSERT_OK(Put("a", "k", 200, 11, "a later correction").status());
  EXPECT_EQ(Get("a", "k")->values, "a later correction");
  // Times before 1970 order correctly too.
  ASSERT_OK(Put("a", "old", -500, 0, "1969").status());
  ASSERT_OK_AND_ASSIGN(WriteCounts earlier, Put("a", "old", -600, 0, "1968"));
  EXPECT_EQ(earlier.written, 0u);
  EXPECT_EQ(Get("a", "old")->values, "1969");
}

TEST_P(OnlineStoreTest, BinaryAndLongKeys) {
  std::string binary("\0k\xff\0", 4);
  std::string other("\0k\xff\1", 4);
  std::string long_key(2000, 'x');
  ASSERT_OK(Put("a", binary, 1, 1, std::string("\0v", 2)).status());
  ASSERT_OK(Put("a", other, 1, 1, "other").status());
  ASSERT_OK(Put("a", long_key, 1, 1, "long").status());
  EXPECT_EQ(Get("a", binary)->values, std::string("\0v", 2));
  EXPECT_EQ(Get("a", other)->values, "other");
  EXPECT_EQ(Get("a", long_key)->values, "long");
  EXPECT_FALSE(Get("a", std::string(2000, 'y')).has_value());
}

TEST_P(OnlineStoreTest, BulkWriteAndDropTable) {
  std::vector<std::string> keys;
  std::vector<std::string> records;
  for (int i = 0; i < 20000; ++i) {
    keys.push_back("entity-" + std::to_string(i));
    records.push_back(EncodeStored({1000 + i, 0, "value-" + std::to_string(i)}));
  }
  std::vector<OnlineWrite> writes;
  for (size_t i = 0; i < keys.size(); ++i) writes.push_back({keys[i], records[i]});
  ASSERT_OK_AND_ASSIGN(WriteCounts counts, store_->Write(prefix_ + "bulk", writes));
  EXPECT_EQ(counts.written, 20000u);
  ASSERT_OK(Put("b", "entity-7", 1, 1, "kept").status());

  std::vector<std::optional<OnlineRecord>> out;
  ASSERT_OK(store_->Read(prefix_ + "bulk", keys, &out));
  ASSERT_EQ(out.size(), keys.size());
  for (size_t i = 0; i < keys.size(); i += 997) {
    ASSERT_TRUE(out[i].has_value()) << i;
    EXPECT_EQ(out[i]->values, "value-" + std::to_string(i));
  }

  ASSERT_OK(store_->DropTable(prefix_ + "bulk"));
  ASSERT_OK(store_->Read(prefix_ + "bulk", keys, &out));
  for (const auto& record : out) EXPECT_FALSE(record.has_value());
  EXPECT_EQ(Get("b", "entity-7")->values, "kept");
}

// The fast paths (LMDB appends keys past the table's end; Redis writes a
// first load with MSETNX) keep the rule: a batch mixing new keys, stored
// keys and one key twice ends with the newest of each.
TEST_P(OnlineStoreTest, BatchesOfNewStoredAndRepeatedKeysKeepTheNewest) {
  auto write = [&](std::vector<std::tuple<std::string, int64_t, std::string>> rows) {
    std::vector<std::string> stored;
    for (const auto& [key, event, value] : rows) stored.push_back(EncodeStored({event, 0, value}));
    std::vector<OnlineWrite> writes;
    for (size_t i = 0; i < rows.size(); ++i) writes.push_back({std::get<0>(rows[i]), stored[i]});
    return store_->Write(prefix_ + "a", writes);
  };
  ASSERT_OK_AND_ASSIGN(WriteCounts first, write({{"k1", 10, "k1@10"}, {"k3", 10, "k3@10"}}));
  EXPECT_EQ(first.written, 2u);
  // k2 falls between stored keys, k3 is older than stored, k4 is past the end.
  ASSERT_OK_AND_ASSIGN(WriteCounts mixed,
                       write({{"k2", 5, "k2@5"}, {"k3", 5, "k3@5"}, {"k4", 5, "k4@5"}}));
  EXPECT_EQ(mixed.written, 2u);
  EXPECT_EQ(mixed.kept_newer, 1u);
  // Past the end, one key twice in either order: the newer wins.
  ASSERT_OK(
      write({{"k5", 20, "k5@20"}, {"k5", 10, "k5@10"}, {"k6", 10, "k6@10"}, {"k6", 20, "k6@20"}})
          .status());
  EXPECT_EQ(Get("a", "k1")->values, "k1@10");
  EXPECT_EQ(Get("a", "k2")->values, "k2@5");
  EXPECT_EQ(Get("a", "k3")->values, "k3@10");
  EXPECT_EQ(Get("a", "k4")->values, "k4@5");
  EXPECT_EQ(Get("a", "k5")->values, "k5@20");
  EXPECT_EQ(Get("a", "k6")->values, "k6@20");

  // A batch that starts with 100 new keys (so it looks like a first load)
  // and holds an older row of a stored key further on: the stored row stays,
  // the new keys around it are written.
  std::vector<std::tuple<std::string, int64_t, std::string>> late;
  for (int i = 0; i < 100; ++i) late.push_back({"n" + std::to_string(i), 1, "new"});
  late.push_back({"k3", 1, "k3@1"});
  late.push_back({"z", 1, "z@1"});
  ASSERT_OK_AND_ASSIGN(WriteCounts late_counts, write(late));
  EXPECT_EQ(late_counts.written, 101u);
  EXPECT_EQ(late_counts.kept_newer, 1u);
  EXPECT_EQ(Get("a", "k3")->values, "k3@10");
  EXPECT_EQ(Get("a", "n42")->values, "new");
  EXPECT_EQ(Get("a", "z")->values, "z@1");
}

// Reads from many threads at once come back whole and to the right caller
// (Redis pipelines concurrent reads on one connection, in order).
TEST_P(OnlineStoreTest, ConcurrentAsyncReadsEachGetTheirOwnRecords) {
  std::vector<std::string> keys, records;
  for (int i = 0; i < 200; ++i) {
    keys.push_back("e" + std::to_string(i));
    records.push_back(EncodeStored({i, 0, "v" + std::to_string(i)}));
  }
  std::vector<OnlineWrite> writes;
  for (size_t i = 0; i < keys.size(); ++i) writes.push_back({keys[i], records[i]});
  ASSERT_OK(store_->Write(prefix_ + "a", writes).status());

  constexpr int kThreads = 4, kReadsPerThread = 300;
  std::atomic<int> wrong{0}, answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kReadsPerThread; ++r) {
        int first = (t * 31 + r * 7) % 190;
        std::vector<std::string> wanted = {keys[first], "absent", keys[first + 9]};
        std::promise<void> done;
        store_->ReadAsync(prefix_ + "a", wanted,
                          [&, first](Status status, std::vector<std::optional<OnlineRecord>> got) {
                            bool ok = status.ok() && got.size() == 3 && got[0] && !got[1] &&
                                      got[2] && got[0]->values == "v" + std::to_string(first) &&
                                      got[2]->values == "v" + std::to_string(first + 9);
                            if (!ok) ++wrong;
                            ++answered;
                            done.set_value();
                          });
        done.get_future().wait();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(answered.load(), kThreads * kReadsPerThread);
  EXPECT_EQ(wrong.load(), 0);
}

// Kilobytes of `path` this process has mapped in (its mapping's Rss).
size_t MappedKb(const std::filesystem::path& path) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line, wanted = std::filesystem::canonical(path).string();
  bool inside = false;
  while (std::getline(smaps, line)) {
    if (line.find('/') != std::string::npos && line.find(':') != 2 && !line.starts_with("Rss")) {
      inside = line.ends_with(wanted);
    } else if (inside && line.starts_with("Rss:")) {
      return std::stoul(line.substr(4));
    }
  }
  return 0;
}

// A server calls StartWarmUp after opening the embedded store: the stored
// pages are mapped in before the first reads (each first touch of a page is
// a page fault, slow on virtual machines), reads stay right, and closing the
// store mid-warm-up neither hangs nor crashes.
TEST(LmdbWarmUpTest, MapsTheStoredPagesAhead) {
  auto dir =
      std::filesystem::temp_directory_path() / ("cairn_lmdb_warm_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::vector<std::string> keys, records;
  for (int i = 0; i < 20000; ++i) {
    keys.push_back("entity-" + std::to_string(i));
    records.push_back(EncodeStored({i, 0, std::string(200, static_cast<char>('a' + i % 26))}));
  }
  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenLmdbOnlineStore(dir.string()));
    std::vector<OnlineWrite> writes;
    for (size_t i = 0; i < keys.size(); ++i) writes.push_back({keys[i], records[i]});
    ASSERT_OK(store->Write("t", writes).status());
  }
  size_t file_kb = std::filesystem::file_size(dir / "data.mdb") / 1024;
  ASSERT_GT(file_kb, 4000u);

  ASSERT_OK_AND_ASSIGN(auto store, OpenLmdbOnlineStore(dir.string()));
  EXPECT_LT(MappedKb(dir / "data.mdb"), file_kb / 2);  // opened, not yet read
  store->StartWarmUp();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (MappedKb(dir / "data.mdb") < file_kb * 9 / 10 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(MappedKb(dir / "data.mdb"), file_kb * 9 / 10);
  std::vector<std::optional<OnlineRecord>> out;
  ASSERT_OK(store->Read("t", std::vector<std::string>{keys[0], keys[19999]}, &out));
  ASSERT_TRUE(out[0].has_value() && out[1].has_value());
  EXPECT_EQ(out[1]->values, std::string(200, static_cast<char>('a' + 19999 % 26)));
  store.reset();

  ASSERT_OK_AND_ASSIGN(auto closing, OpenLmdbOnlineStore(dir.string()));
  closing->StartWarmUp();
  closing.reset();
  std::filesystem::remove_all(dir);
}

TEST(OnlineStoreRegistryTest, SchemesAndErrors) {
  OnlineStoreRegistry registry;
  RegisterLmdbOnlineStore(&registry);
  RegisterRedisOnlineStore(&registry);
  EXPECT_THAT(registry.Open("memcached://x").status().message(),
              ::testing::HasSubstr("lmdb://, redis://"));
  EXPECT_THAT(registry.Open("redis://127.0.0.1:notaport"),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  StatusOr<std::unique_ptr<OnlineStore>> unreachable = registry.Open("redis://127.0.0.1:1/0");
  EXPECT_THAT(unreachable, ::cairn::testing::StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(unreachable.status().message(), ::testing::HasSubstr("is redis-server running"));
}

INSTANTIATE_TEST_SUITE_P(Backends, OnlineStoreTest, ::testing::Values("lmdb", "redis"));

}  // namespace
}  // namespace cairn::online
