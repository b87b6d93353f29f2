// Env's files and processes, on the real machine and in the fakes that
// tests of other components use (MemEnv, FaultInjectionEnv): the same
// contract, checked by the same tests where it applies.
#include "core/env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "core/fault_injection_env.h"
#include "core/mem_env.h"
#include "status_testing.h"

namespace cairn {
namespace {

using ::cairn::testing::IsOk;
using ::cairn::testing::IsOkAndHolds;
using ::cairn::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A fresh folder per test, on disk for the real Env and "/t" in a MemEnv.
class FilesTest : public ::testing::TestWithParam<bool> {
 protected:
  FilesTest() : mem_(&fake_) {
    if (real()) {
      root_ = (std::filesystem::temp_directory_path() /
               ("cairn-env-test-" + Env::Default()->RandomHex(6)))
                  .string();
    } else {
      root_ = "/t";
    }
    EXPECT_THAT(env()->CreateDirectories(root_), IsOk());
  }
  ~FilesTest() override {
    if (real()) std::filesystem::remove_all(root_);
  }
  bool real() const { return GetParam(); }
  Env* env() { return real() ? Env::Default() : &mem_; }
  std::string At(const std::string& name) const { return root_ + "/" + name; }

  FakeEnv fake_;
  MemEnv mem_;
  std::string root_;
};

TEST_P(FilesTest, WriteReadListStatRemove) {
  ASSERT_THAT(env()->WriteFileAtomically(At("b.txt"), "bee", 0644), IsOk());
  ASSERT_THAT(env()->WriteFileAtomically(At("a.txt"), "first", 0644), IsOk());
  ASSERT_THAT(env()->WriteFileAtomically(At("a.txt"), "second", 0644), IsOk());  // Replaced.
  EXPECT_THAT(env()->ReadFile(At("a.txt")), IsOkAndHolds(std::string("second")));
  ASSERT_THAT(env()->CreateDirectories(At("sub/deeper")), IsOk());
  ASSERT_THAT(env()->CreateDirectories(At("sub")), IsOk());  // Existing: fine.
  // No temporary file is left beside the target.
  EXPECT_THAT(env()->ListDirectory(root_), IsOkAndHolds(ElementsAre("a.txt", "b.txt", "sub")));
  ASSERT_OK_AND_ASSIGN(FileInfo file, env()->Stat(At("a.txt")));
  EXPECT_TRUE(file.exists);
  EXPECT_FALSE(file.is_directory);
  EXPECT_EQ(file.size, 6u);
  ASSERT_OK_AND_ASSIGN(FileInfo folder, env()->Stat(At("sub")));
  EXPECT_TRUE(folder.exists && folder.is_directory);
  ASSERT_OK_AND_ASSIGN(FileInfo none, env()->Stat(At("none")));
  EXPECT_FALSE(none.exists);

  EXPECT_THAT(env()->RemoveFile(At("sub")), StatusIs(StatusCode::kUnavailable));  // Not empty.
  EXPECT_THAT(env()->RemoveFile(At("a.txt")), IsOk());
  EXPECT_THAT(env()->RemoveFile(At("a.txt")), IsOk());  // Already gone: fine.
  EXPECT_THAT(env()->ReadFile(At("a.txt")),
              StatusIs(StatusCode::kNotFound, HasSubstr(At("a.txt"))));
}

TEST_P(FilesTest, ErrorsNameThePathAndTheLimit) {
  EXPECT_THAT(env()->ReadFile(At("missing")),
              StatusIs(StatusCode::kNotFound, HasSubstr("missing")));
  EXPECT_THAT(env()->ListDirectory(At("missing")), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(env()->WriteFileAtomically(At("no/folder/x"), "x", 0644),
              StatusIs(StatusCode::kNotFound, HasSubstr("no/folder/x")));
  ASSERT_THAT(env()->WriteFileAtomically(At("big"), std::string(100, 'x'), 0644), IsOk());
  EXPECT_THAT(env()->ReadFile(At("big"), 99),
              StatusIs(StatusCode::kResourceExhausted, HasSubstr("99")));
  EXPECT_THAT(env()->ReadFile(At("big"), 100), IsOk());
  EXPECT_THAT(env()->ReadFile(root_),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not a regular file (a folder)")));
}

TEST_P(FilesTest, SecretsGetTheModeAskedFor) {
  ASSERT_THAT(env()->WriteFileAtomically(At("secret"), "k", 0600), IsOk());
  if (real()) {
    struct stat st {};
    ASSERT_EQ(::stat(At("secret").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  } else {
    EXPECT_EQ(mem_.ModeForTest(At("secret")), 0600);
  }
}

TEST_P(FilesTest, RenameReplacesAndSyncNamesWhatIsMissing) {
  ASSERT_THAT(env()->WriteFileAtomically(At("new"), "fresh", 0644), IsOk());
  ASSERT_THAT(env()->WriteFileAtomically(At("old"), "stale", 0644), IsOk());
  ASSERT_THAT(env()->RenameFile(At("new"), At("old")), IsOk());
  EXPECT_THAT(env()->ReadFile(At("old")), IsOkAndHolds(std::string("fresh")));
  EXPECT_THAT(env()->ListDirectory(root_), IsOkAndHolds(ElementsAre("old")));
  EXPECT_THAT(env()->RenameFile(At("new"), At("other")),
              StatusIs(StatusCode::kNotFound, HasSubstr(At("new"))));
  EXPECT_THAT(env()->SyncPath(At("old")), IsOk());
  EXPECT_THAT(env()->SyncPath(root_), IsOk());
  EXPECT_THAT(env()->SyncPath(At("none")), StatusIs(StatusCode::kNotFound, HasSubstr("none")));
}

// Shared locks coexist; an exclusive one excludes both kinds, also between
// two holders in one process (flock per open, as across processes).
TEST_P(FilesTest, LocksExcludeAsTheirModeSays) {
  std::string path = At(".lock");
  // Whether a lock in `mode` is refused right now (without waiting).
  auto busy = [&](LockMode mode) {
    StatusOr<std::unique_ptr<FileLock>> lock = env()->LockFile(path, mode, false);
    EXPECT_THAT(lock.status(), IsOk());
    return lock.ok() && *lock == nullptr;
  };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FileLock> reader,
                       env()->LockFile(path, LockMode::kShared, true));
  ASSERT_NE(reader, nullptr);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FileLock> reader2,
                       env()->LockFile(path, LockMode::kShared, false));
  EXPECT_NE(reader2, nullptr);
  EXPECT_TRUE(busy(LockMode::kExclusive));
  reader.reset();
  reader2.reset();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<FileLock> writer,
                       env()->LockFile(path, LockMode::kExclusive, false));
  ASSERT_NE(writer, nullptr);
  EXPECT_TRUE(busy(LockMode::kShared));
  // A waiting locker gets it once the holder lets go.
  std::atomic<bool> got{false};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Thread> waiter, env()->StartThread("lock-waiter", [&] {
    StatusOr<std::unique_ptr<FileLock>> lock = env()->LockFile(path, LockMode::kShared, true);
    got = lock.ok() && *lock != nullptr;
  }));
  writer.reset();
  waiter->Join();
  EXPECT_TRUE(got);
  EXPECT_THAT(env()->LockFile(At("no/folder/.lock"), LockMode::kShared, true),
              StatusIs(StatusCode::kNotFound, HasSubstr("no/folder/.lock")));
}

INSTANTIATE_TEST_SUITE_P(RealAndMemory, FilesTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "Real" : "Memory";
                         });

TEST(FaultInjectionEnvTest, FailsWhatItIsToldAndKeepsWhatWasStored) {
  FakeEnv fake;
  MemEnv mem(&fake);
  FaultInjectionEnv faulty_env(&mem);
  Env& env = faulty_env;  // Default arguments are declared on Env.
  FaultInjectionEnv& faulty = faulty_env;
  ASSERT_THAT(faulty.CreateDirectories("/keys"), IsOk());
  ASSERT_THAT(faulty.WriteFileAtomically("/keys/a", "old", 0600), IsOk());
  faulty.Fail(FaultInjectionEnv::Operation::kWrite, "/keys/", Unavailable("disk full"),
              /*after=*/1);
  EXPECT_THAT(faulty.WriteFileAtomically("/keys/b", "fine", 0600), IsOk());  // One goes through.
  EXPECT_THAT(faulty.WriteFileAtomically("/keys/a", "new", 0600),
              StatusIs(StatusCode::kUnavailable, HasSubstr("disk full")));
  EXPECT_THAT(env.ReadFile("/keys/a"), IsOkAndHolds(std::string("old")));
  EXPECT_EQ(faulty.failures(), 1);
  faulty.Fail(FaultInjectionEnv::Operation::kRead, "/keys/a", NotFound("gone"));
  EXPECT_THAT(env.ReadFile("/keys/a"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(env.ReadFile("/keys/b"), IsOk());
  faulty.Heal();
  EXPECT_THAT(faulty.WriteFileAtomically("/keys/a", "new", 0600), IsOk());
  EXPECT_THAT(env.ReadFile("/keys/a"), IsOkAndHolds(std::string("new")));
}

// A refused thread is an error the caller answers, not an exception that
// ends the process.
TEST(FaultInjectionEnvTest, ARefusedThreadIsAnError) {
  FaultInjectionEnv faulty(Env::Default());
  faulty.Fail(FaultInjectionEnv::Operation::kStartThread, "pool", Unavailable("no threads left"));
  EXPECT_THAT(faulty.StartThread("pool-1", [] {}),
              StatusIs(StatusCode::kUnavailable, HasSubstr("no threads left")));
  std::atomic<int> ran{0};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Thread> other, faulty.StartThread("other", [&] { ++ran; }));
  other->Join();
  other->Join();  // Joining twice is harmless.
  EXPECT_EQ(ran, 1);
}

TEST(FakeEnvTest, SleepingAdvancesTheClockNotTheTest) {
  FakeEnv fake;
  int64_t before = fake.MonotonicNanos();
  fake.SleepForMicros(3'600'000'000);  // An hour, at once.
  EXPECT_EQ(fake.MonotonicNanos() - before, int64_t{3'600'000'000'000});
}

TEST(FakeEnvTest, TimersFireWhenTheClockPassesThemOnTheAdvancingThread) {
  FakeEnv fake;
  std::vector<int64_t> fired;
  std::unique_ptr<Timer> timer =
      fake.StartRepeating(100, [&] { fired.push_back(fake.NowMicros()); });
  int64_t start = fake.NowMicros();
  fake.AdvanceMicros(99);
  EXPECT_TRUE(fired.empty());
  fake.AdvanceMicros(251);  // Passes start+100, +200, +300.
  EXPECT_EQ(fired, (std::vector<int64_t>{start + 100, start + 200, start + 300}));
  EXPECT_EQ(fake.NowMicros(), start + 350);
  fake.SetNowMicros(start + 10'000);  // Jumps: missed periods are skipped, not replayed.
  fake.AdvanceMicros(50);
  EXPECT_EQ(fired.size(), 4u);
  timer->Cancel();
  fake.AdvanceMicros(1000);
  EXPECT_EQ(fired.size(), 4u);
}

TEST(EnvTest, RealTimersRepeatUntilCancelled) {
  Mutex mu;
  CondVar cv(&mu);
  int count = 0;
  std::unique_ptr<Timer> timer = Env::Default()->StartRepeating(1000, [&] {
    MutexLock lock(&mu);
    ++count;
    cv.SignalAll();
  });
  {
    MutexLock lock(&mu);
    while (count < 3) cv.Wait();
  }
  timer.reset();  // Returns once the callback cannot run again.
  int after_cancel = 0;
  {
    MutexLock lock(&mu);
    after_cancel = count;
  }
  Env::Default()->SleepForMicros(5000);
  MutexLock lock(&mu);
  EXPECT_EQ(count, after_cancel);
}

TEST(ProcessTest, RunsWithArgumentsEnvironmentFolderAndOutput) {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("cairn-process-test-" + Env::Default()->RandomHex(6)))
                        .string();
  ASSERT_THAT(Env::Default()->CreateDirectories(dir), IsOk());
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo \"$GREETING $1 $(pwd)\"; echo oops >&2; exit 3", "sh", "world"};
  spec.environment = {{"GREETING", "hello"}};
  spec.working_dir = dir;
  spec.stdout_path = dir + "/out";
  spec.stderr_path = dir + "/err";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> process, Env::Default()->StartProcess(spec));
  EXPECT_GT(process->pid(), 0);
  EXPECT_THAT(process->Wait(), IsOkAndHolds(3));
  EXPECT_THAT(process->Wait(), IsOkAndHolds(3));  // Reaped once, answered again.
  EXPECT_THAT(Env::Default()->ReadFile(dir + "/out"),
              IsOkAndHolds("hello world " + std::filesystem::canonical(dir).string() + "\n"));
  EXPECT_THAT(Env::Default()->ReadFile(dir + "/err"), IsOkAndHolds(std::string("oops\n")));
  std::filesystem::remove_all(dir);
}

TEST(ProcessTest, KillPollAndMissingPrograms) {
  ProcessSpec sleeper;
  sleeper.argv = {"sleep", "30"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> process, Env::Default()->StartProcess(sleeper));
  EXPECT_THAT(process->Poll(), IsOkAndHolds(std::optional<int>()));
  EXPECT_THAT(process->Kill(SIGTERM), IsOk());
  EXPECT_THAT(process->Wait(), IsOkAndHolds(128 + SIGTERM));
  EXPECT_THAT(process->Poll(), IsOkAndHolds(std::optional<int>(128 + SIGTERM)));

  ProcessSpec missing;
  missing.argv = {"no-such-program-anywhere"};
  EXPECT_THAT(Env::Default()->StartProcess(missing),
              StatusIs(StatusCode::kNotFound, HasSubstr("no-such-program-anywhere")));
  EXPECT_THAT(Env::Default()->StartProcess(ProcessSpec{}), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace cairn
