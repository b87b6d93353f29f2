// Tests for the core building blocks: Status/StatusOr and their macros,
// Base64, FakeEnv and ThreadPool.
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/confined_path.h"
#include "core/env.h"
#include "core/fault_injection_env.h"
#include "core/json.h"
#include "core/log.h"
#include "core/status.h"
#include "core/strings.h"
#include "core/thread_pool.h"
#include "core/time_format.h"
#include "status_testing.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::MatchesRegex;

// ---------------------------------------------------------------- Status

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_THAT(s, ::cairn::testing::StatusIs(StatusCode::kOk));
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(Status::Ok(), s);
}

TEST(StatusTest, HelpersCarryCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
    const char* name;
  };
  const Case cases[] = {
      {InvalidArgument("m"), StatusCode::kInvalidArgument, "INVALID_ARGUMENT"},
      {NotFound("m"), StatusCode::kNotFound, "NOT_FOUND"},
      {AlreadyExists("m"), StatusCode::kAlreadyExists, "ALREADY_EXISTS"},
      {FailedPrecondition("m"), StatusCode::kFailedPrecondition, "FAILED_PRECONDITION"},
      {PermissionDenied("m"), StatusCode::kPermissionDenied, "PERMISSION_DENIED"},
      {Unauthenticated("m"), StatusCode::kUnauthenticated, "UNAUTHENTICATED"},
      {ResourceExhausted("m"), StatusCode::kResourceExhausted, "RESOURCE_EXHAUSTED"},
      {Unimplemented("m"), StatusCode::kUnimplemented, "UNIMPLEMENTED"},
      {Unavailable("m"), StatusCode::kUnavailable, "UNAVAILABLE"},
      {Internal("m"), StatusCode::kInternal, "INTERNAL"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.status.ok()) << c.name;
    EXPECT_EQ(c.status.code(), c.code) << c.name;
    EXPECT_EQ(c.status.message(), "m") << c.name;
    EXPECT_EQ(StatusCodeName(c.code), c.name);
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
  }
}

TEST(StatusTest, EqualityComparesCodeAndMessage) {
  EXPECT_EQ(NotFound("x"), NotFound("x"));
  EXPECT_FALSE(NotFound("x") == NotFound("y"));
  EXPECT_FALSE(NotFound("x") == Internal("x"));
}

TEST(StatusOrTest, HoldsValue) {
  StatusOr<std::string> s = std::string("hello");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s.status().ok());
  EXPECT_EQ(*s, "hello");
  EXPECT_EQ(s->size(), 5u);
  s.value() += "!";
  EXPECT_EQ(s.value(), "hello!");
}

TEST(StatusOrTest, HoldsError) {
  StatusOr<int> s = NotFound("no such run");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status(), NotFound("no such run"));
}

TEST(StatusOrTest, MovesOutMoveOnlyValue) {
  StatusOr<std::unique_ptr<int>> s = std::make_unique<int>(7);
  ASSERT_TRUE(s.ok());
  std::unique_ptr<int> p = std::move(s).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

Status FailIf(bool fail, int* calls) {
  ++*calls;
  return fail ? InvalidArgument("bad") : Status::Ok();
}

Status Chain(bool fail_first, int* calls) {
  RETURN_IF_ERROR(FailIf(fail_first, calls));
  RETURN_IF_ERROR(FailIf(false, calls));
  return Status::Ok();
}

TEST(StatusMacrosTest, ReturnIfErrorStopsAtFirstError) {
  int calls = 0;
  EXPECT_EQ(Chain(true, &calls), InvalidArgument("bad"));
  EXPECT_EQ(calls, 1);
  calls = 0;
  EXPECT_TRUE(Chain(false, &calls).ok());
  EXPECT_EQ(calls, 2);
}

StatusOr<int> Parse(int v) {
  if (v < 0) return InvalidArgument("negative");
  return v;
}

Status ReturnIfErrorOnStatusOr(int v) {
  RETURN_IF_ERROR(Parse(v));
  return Status::Ok();
}

StatusOr<int> SumOfTwo(int a, int b) {
  ASSIGN_OR_RETURN(int x, Parse(a));
  ASSIGN_OR_RETURN(int y, Parse(b));  // Two uses in one function must not clash.
  return x + y;
}

StatusOr<std::unique_ptr<int>> Boxed(int v) { return std::make_unique<int>(v); }

StatusOr<int> Unbox(int v) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> box, Boxed(v));
  return *box;
}

TEST(StatusMacrosTest, ReturnIfErrorAcceptsStatusOr) {
  EXPECT_TRUE(ReturnIfErrorOnStatusOr(1).ok());
  EXPECT_EQ(ReturnIfErrorOnStatusOr(-1), InvalidArgument("negative"));
}

TEST(StatusMacrosTest, AssignOrReturn) {
  StatusOr<int> ok = SumOfTwo(2, 3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  EXPECT_EQ(SumOfTwo(2, -3).status(), InvalidArgument("negative"));
  EXPECT_EQ(SumOfTwo(-2, 3).status(), InvalidArgument("negative"));
}

TEST(StatusMacrosTest, AssignOrReturnMovesMoveOnlyValues) {
  StatusOr<int> v = Unbox(9);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 9);
}

// ---------------------------------------------------------------- Base64

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Decode("Zm9vYmFy"), std::optional<std::string>("foobar"));
  EXPECT_EQ(Base64Decode("Zm9vYg=="), std::optional<std::string>("foob"));
  EXPECT_EQ(Base64Decode(""), std::optional<std::string>(""));
}

TEST(Base64Test, UsesStandardAlphabet) { EXPECT_EQ(Base64Encode("\xfb\xff\xbf"), "+/+/"); }

TEST(Base64Test, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= all.size(); ++len) {
    std::string data = all.substr(all.size() - len);  // Includes NULs and high bytes.
    std::string encoded = Base64Encode(data);
    EXPECT_EQ(encoded.size() % 4, 0u);
    std::optional<std::string> decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, data) << "length " << len;
  }
}

TEST(Base64Test, RejectsCharactersOutsideTheAlphabet) {
  EXPECT_EQ(Base64Decode("Zm9v!mFy"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zm9v YmFy"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zm9v\nYmFy"), std::nullopt);
  EXPECT_EQ(Base64Decode(std::string("Zm\0v", 4)), std::nullopt);
}

TEST(Base64Test, RejectsMisplacedPadding) {
  EXPECT_EQ(Base64Decode("Zg==Zg=="), std::nullopt);  // Data after padding.
  EXPECT_EQ(Base64Decode("Zg=a"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zg==="), std::nullopt);  // More than two '='.
}

TEST(Base64Test, RejectsTruncatedInput) {
  // No encoder produces 4k+1 characters: the last one carries only 6 bits,
  // not a whole byte, so the input was cut short or corrupted.
  EXPECT_EQ(Base64Decode("Z"), std::nullopt);
  EXPECT_EQ(Base64Decode("Zm9vY"), std::nullopt);
}

// ---------------------------------------------------------------- FakeEnv

TEST(FakeEnvTest, TimeMovesOnlyWhenTold) {
  FakeEnv env(/*start_micros=*/5'000'000);
  EXPECT_EQ(env.NowMicros(), 5'000'000);
  EXPECT_EQ(env.NowMicros(), 5'000'000);
  EXPECT_EQ(env.NowMillis(), 5'000);
  int64_t mono = env.MonotonicNanos();
  env.AdvanceMicros(1'500);
  EXPECT_EQ(env.NowMicros(), 5'001'500);
  EXPECT_EQ(env.NowMillis(), 5'001);
  EXPECT_EQ(env.MonotonicNanos() - mono, 1'500'000);
  env.SetNowMicros(42);
  EXPECT_EQ(env.NowMicros(), 42);
}

TEST(FakeEnvTest, RandomHexHasTwoLowercaseHexDigitsPerByte) {
  FakeEnv env;
  for (size_t n : {0u, 1u, 6u, 16u, 33u}) {
    std::string hex = env.RandomHex(n);
    EXPECT_EQ(hex.size(), 2 * n);
    EXPECT_THAT(hex, MatchesRegex("[0-9a-f]*"));
  }
  EXPECT_NE(env.RandomHex(16), env.RandomHex(16));
}

TEST(FakeEnvTest, RandomHexIsDeterministicPerSeed) {
  FakeEnv a(0, 7);
  FakeEnv b(0, 7);
  FakeEnv c(0, 8);
  std::string from_a = a.RandomHex(16);
  EXPECT_EQ(from_a, b.RandomHex(16));
  EXPECT_NE(from_a, c.RandomHex(16));
}

TEST(EnvTest, DefaultEnvRandomHexAndClocks) {
  Env* env = Env::Default();
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env, Env::Default());
  std::string hex = env->RandomHex(12);
  EXPECT_EQ(hex.size(), 24u);
  EXPECT_THAT(hex, MatchesRegex("[0-9a-f]*"));
  EXPECT_NE(hex, env->RandomHex(12));
  EXPECT_GT(env->NowMicros(), int64_t{1'600'000'000'000'000});  // After 2020.
  int64_t a = env->MonotonicNanos();
  EXPECT_GE(env->MonotonicNanos(), a);
}

// ---------------------------------------------------------------- ThreadPool

TEST(ThreadPoolTest, RunsEveryTask) {
  constexpr int kTasks = 1000;
  std::atomic<int> ran{0};
  std::mutex mu;
  std::condition_variable cv;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ThreadPool> started,
                         ThreadPool::Start(Env::Default(), 4, "test"));
    ThreadPool& pool = *started;
    EXPECT_EQ(pool.size(), 4);
    for (int i = 0; i < kTasks; ++i) {
      pool.Post([&] {
        if (ran.fetch_add(1) + 1 == kTasks) {
          std::lock_guard lock(mu);
          cv.notify_all();
        }
      });
    }
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return ran.load() == kTasks; }));
  }
  EXPECT_EQ(ran.load(), kTasks);
}

TEST(ThreadPoolTest, RunsTasksInPostOrderOnOneThread) {
  std::vector<int> order;
  {
    auto started = ThreadPool::Start(Env::Default(), 1);
    ASSERT_OK(started.status());
    ThreadPool& pool = **started;
    for (int i = 0; i < 5; ++i) pool.Post([&order, i] { order.push_back(i); });
  }
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 3, 4));
}

TEST(ThreadPoolTest, DestructorDrainsQueuedTasks) {
  std::atomic<int> ran{0};
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  bool blocker_started = false;
  {
    auto started = ThreadPool::Start(Env::Default(), 1);
    ASSERT_OK(started.status());
    ThreadPool& pool = **started;
    // Hold the only thread so that the following tasks are still queued when
    // the destructor starts.
    pool.Post([&] {
      std::unique_lock lock(mu);
      blocker_started = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    });
    for (int i = 0; i < 50; ++i) pool.Post([&] { ran.fetch_add(1); });
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return blocker_started; });
      EXPECT_EQ(ran.load(), 0);
    }
    {
      std::lock_guard lock(mu);
      release = true;
    }
    cv.notify_all();
  }  // ~ThreadPool, almost always with tasks still queued behind the blocker.
  EXPECT_EQ(ran.load(), 50);
}

TEST(ThreadPoolTest, TasksMayPostMoreTasks) {
  std::atomic<int> ran{0};
  {
    auto started = ThreadPool::Start(Env::Default(), 2);
    ASSERT_OK(started.status());
    ThreadPool& pool = **started;
    pool.Post([&] {
      ran.fetch_add(1);
      pool.Post([&] { ran.fetch_add(1); });
    });
  }
  EXPECT_EQ(ran.load(), 2);
}

// MLflow decodes paths and sources until they stop changing: nothing hides a
// ".." behind more escapes; a stray '%' stays as it is.
TEST(StringsTest, FullyPercentDecodedDecodesUntilNothingChanges) {
  EXPECT_EQ(FullyPercentDecoded("a/%252e%252e/b"), "a/../b");
  EXPECT_EQ(FullyPercentDecoded("%zz%2e%2E%"), "%zz..%");
  EXPECT_EQ(FullyPercentDecoded("plain"), "plain");
  EXPECT_EQ(HexDigitValue('f'), 15);
  EXPECT_EQ(HexDigitValue('G'), -1);
}

// A pool the system cannot give every thread is an error, and the threads
// it did start are stopped.
TEST(ThreadPoolTest, ARefusedThreadFailsTheStartCleanly) {
  FaultInjectionEnv faulty(Env::Default());
  faulty.Fail(FaultInjectionEnv::Operation::kStartThread, "work", Unavailable("thread limit"),
              /*after=*/2);
  EXPECT_THAT(ThreadPool::Start(&faulty, 4, "work").status(),
              testing::StatusIs(StatusCode::kUnavailable, ::testing::HasSubstr("thread limit")));
}

// The raw-text appenders must produce JSON that reads back to the same
// values, including the awkward ones.
TEST(JsonAppendTest, StringsRoundTripThroughTheParser) {
  for (std::string value :
       {std::string("loss"), std::string("a\"b\\c"), std::string("tab\tnew\nline\x01\x1f"),
        std::string("caf\xc3\xa9"), std::string()}) {
    std::string text;
    json::AppendString(text, value);
    json::Document doc;
    ASSERT_TRUE(json::Parse(text, &doc).ok()) << text;
    EXPECT_EQ(std::string(doc.GetString(), doc.GetStringLength()), value);
  }
}

// RapidJSON 1.1's full-precision reader crashes or answers NaN for numbers
// below about 1e-320 (found by v2_request_fuzz); json::Parse reads such
// bodies with the normal reader. Every request body goes through it.
TEST(JsonParseTest, TinyNumbersNeitherCrashNorTurnNaN) {
  const std::string cases[] = {
      "[0." + std::string(340, '0') + "715555555555]",
      "[0." + std::string(5000, '0') + "7]",
      "[0." + std::string(50, '0') + "7e-300]",
      "[0.715555555555e-324]",
      "[-0." + std::string(20, '0') + "1E-0310]",
      "{\"value\": 0." + std::string(400, '0') + "1, \"other\": 0.1}",
  };
  for (const std::string& text : cases) {
    json::Document doc;
    ASSERT_TRUE(json::Parse(text, &doc).ok()) << text.substr(0, 40);
    const json::Value& v = doc.IsArray() ? doc[0] : doc["value"];
    EXPECT_FALSE(std::isnan(v.GetDouble())) << text.substr(0, 40);
    EXPECT_LT(std::fabs(v.GetDouble()), 1e-300) << text.substr(0, 40);
  }
  EXPECT_FALSE(
      json::MayHoldTinyNumber(R"({"metrics": [{"key": "m-1", "value": -1.5e-12, "step": -3}]})"));
  EXPECT_TRUE(json::MayHoldTinyNumber("[1e-300]"));
  EXPECT_TRUE(json::MayHoldTinyNumber("[1E-0400]"));
}

TEST(JsonAppendTest, DoublesRoundTripBitForBitAndStayFloats) {
  for (double value :
       {0.0, 100.0, -2.5, 0.1, 1e-5, 1e300, 5e-324, 0.30000000000000004, 1.0 / 3.0, -0.0}) {
    std::string text;
    json::AppendDouble(text, value);
    EXPECT_NE(text.find_first_of(".e"), std::string::npos) << text;
    json::Document doc;
    ASSERT_TRUE(json::Parse(text, &doc).ok()) << text;
    ASSERT_TRUE(doc.IsDouble()) << text;
    EXPECT_EQ(doc.GetDouble(), value) << text;
  }
  std::string text;
  json::AppendDouble(text, std::nan(""));
  json::AppendDouble(text, HUGE_VAL);
  json::AppendDouble(text, -HUGE_VAL);
  EXPECT_EQ(text, "\"NaN\"\"Infinity\"\"-Infinity\"");
}

TEST(JsonAppendTest, IntsAreExact) {
  std::string text;
  json::AppendInt(text, INT64_MIN);
  text += ',';
  json::AppendInt(text, 1700000000000);
  EXPECT_EQ(text, "-9223372036854775808,1700000000000");
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST(TimeFormatTest, FormatsAndParsesRfc3339) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1'767'261'600'000'000), "2026-01-01T10:00:00Z");
  EXPECT_EQ(FormatRfc3339(1'767'261'600'250'000), "2026-01-01T10:00:00.250Z");
  EXPECT_EQ(FormatRfc3339(1'767'261'600'000'001), "2026-01-01T10:00:00.000001Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(951'782'400'000'000), "2000-02-29T00:00:00Z");
  for (int64_t micros : {int64_t{0}, int64_t{-86'400'000'001}, int64_t{1'767'261'600'250'000},
                         int64_t{4'102'444'800'000'000}, int64_t{951'782'400'000'000}}) {
    StatusOr<int64_t> back = ParseTimestampMicros(FormatRfc3339(micros));
    ASSERT_TRUE(back.ok()) << FormatRfc3339(micros);
    EXPECT_EQ(*back, micros);
  }
  EXPECT_EQ(*ParseTimestampMicros("2026-01-01"), 1'767'225'600'000'000);
  EXPECT_EQ(*ParseTimestampMicros("2026-01-01 12:00:00+02:00"), 1'767'261'600'000'000);
  EXPECT_EQ(*ParseTimestampMicros("2026-01-01T10:00:00.5"), 1'767'261'600'500'000);
  for (const char* bad : {"", "2026", "2026-13-01", "2026-01-01X10:00:00", "2026-01-01T10:00",
                          "2026-01-01T10:00:00.", "2026-01-01T10:00:00+0200", "yesterday"}) {
    EXPECT_THAT(ParseTimestampMicros(bad), ::cairn::testing::StatusIs(StatusCode::kInvalidArgument))
        << bad;
  }
}

// Server-side paths a client names stay under the configured root, however
// they are spelled (issue 18: a training set's out_path overwrote the
// server's policy file and metadata.db).
class ConfinedPathTest : public ::testing::Test {
 protected:
  ConfinedPathTest() {
    base_ =
        std::filesystem::temp_directory_path() / ("cairn-confined-" + Env::Default()->RandomHex(6));
    std::filesystem::create_directories(base_ / "root/sub");
    std::filesystem::create_directories(base_ / "outside");
    std::ofstream(base_ / "root/sub/in.csv") << "a\n1\n";
    std::ofstream(base_ / "outside/secret.csv") << "s\n1\n";
    std::filesystem::create_directory_symlink(base_ / "outside", base_ / "root/escape");
    std::filesystem::create_symlink(base_ / "outside/secret.csv", base_ / "root/link.csv");
    root_ = *CanonicalRoot((base_ / "root").string(), "--training-data-root");
  }
  ~ConfinedPathTest() override {
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
  }
  std::filesystem::path base_;
  std::string root_;
};

TEST_F(ConfinedPathTest, PathsUnderTheRootResolve) {
  auto read = ResolveUnderRoot(root_, "sub/in.csv", PathUse::kRead, "entities_path");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, root_ + "/sub/in.csv");
  EXPECT_TRUE(ResolveUnderRoot(root_, root_ + "/sub/../sub/in.csv", PathUse::kRead, "p").ok());
  auto write = ResolveUnderRoot(root_, "sub/out.parquet", PathUse::kWrite, "out_path");
  ASSERT_TRUE(write.ok()) << write.status().ToString();
  EXPECT_EQ(*write, root_ + "/sub/out.parquet");
}

TEST_F(ConfinedPathTest, EveryWayOutIsRefusedAlike) {
  for (std::string path : {std::string("../outside/secret.csv"), std::string("/etc/passwd"),
                           std::string("/etc/no-such-file"), std::string("escape/secret.csv"),
                           std::string("link.csv"), std::string("sub/../../outside/secret.csv"),
                           (base_ / "outside/secret.csv").string(), std::string(".")}) {
    auto read = ResolveUnderRoot(root_, path, PathUse::kRead, "entities_path");
    ASSERT_FALSE(read.ok()) << path;
    EXPECT_THAT(read, ::cairn::testing::StatusIs(StatusCode::kPermissionDenied)) << path;
    // The same words whether or not the target exists: no existence oracle.
    EXPECT_THAT(read.status().message(), ::testing::HasSubstr("outside")) << path;
    EXPECT_THAT(read.status().message(), ::testing::Not(::testing::HasSubstr("passwd")));
    auto write = ResolveUnderRoot(root_, path, PathUse::kWrite, "out_path");
    EXPECT_FALSE(write.ok()) << path;
  }
}

TEST_F(ConfinedPathTest, MissingFilesAndControlCharactersAreClearErrors) {
  auto missing = ResolveUnderRoot(root_, "sub/none.csv", PathUse::kRead, "entities_path");
  EXPECT_THAT(missing, ::cairn::testing::StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(missing.status().message(), ::testing::HasSubstr("'sub/none.csv'"));
  EXPECT_THAT(missing.status().message(), ::testing::Not(::testing::HasSubstr(root_)));
  auto folder = ResolveUnderRoot(root_, "nofolder/x.csv", PathUse::kWrite, "out_path");
  EXPECT_THAT(folder, ::cairn::testing::StatusIs(StatusCode::kNotFound));
  auto nul = ResolveUnderRoot(root_, std::string("sub/in.csv\0x", 12), PathUse::kRead, "p");
  EXPECT_THAT(nul, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(nul.status().message(), ::testing::HasSubstr("control character"));
  EXPECT_THAT(ResolveUnderRoot(root_, "sub", PathUse::kWrite, "out_path"),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
}

TEST(ConfinedPath, OverlapAndStrip) {
  EXPECT_TRUE(PathsOverlap("/a/b", "/a"));
  EXPECT_TRUE(PathsOverlap("/a", "/a/b"));
  EXPECT_TRUE(PathsOverlap("/a", "/a"));
  EXPECT_TRUE(PathsOverlap("/", "/x"));
  EXPECT_FALSE(PathsOverlap("/a/bc", "/a/b"));
  EXPECT_EQ(StripRoot("cannot read /r/x.csv and /r/y", "/r"), "cannot read x.csv and y");
}

TEST(LogLimiter, LetsOneLineThroughPerIntervalAndCountsTheRest) {
  LogLimiter limiter(1000);
  uint64_t suppressed = 99;
  EXPECT_TRUE(limiter.Allow(5000, &suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(limiter.Allow(5100, &suppressed));
  EXPECT_FALSE(limiter.Allow(5999, &suppressed));
  EXPECT_TRUE(limiter.Allow(6000, &suppressed));
  EXPECT_EQ(suppressed, 2u);
}

TEST(ThreadPool, AThrowingTaskDoesNotEndTheProcess) {
  std::atomic<int> ran{0};
  {
    auto started = ThreadPool::Start(Env::Default(), 1, "throwing");
    ASSERT_OK(started.status());
    ThreadPool& pool = **started;
    pool.Post([] { throw std::runtime_error("task failed"); });
    pool.Post([&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace cairn
