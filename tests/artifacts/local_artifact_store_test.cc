// Tests for NormalizeArtifactPath and the local filesystem ArtifactStore.
#include "artifacts/local/local_artifact_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "artifacts/artifact_store.h"
#include "core/env.h"
#include "status_testing.h"

namespace cairn::artifacts {
namespace {

namespace fs = std::filesystem;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A fresh folder under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("cairn-artifact-test-" + std::to_string(::getpid()) + "-" +
                                         Env::Default()->RandomHex(6));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

std::string Describe(const std::vector<ArtifactEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    if (!out.empty()) out += " ";
    out += e.path + (e.is_dir ? "/" : ":" + std::to_string(e.file_size));
  }
  return out;
}

// ---------------------------------------------------------------- NormalizeArtifactPath

std::string Normalized(std::string_view path) {
  StatusOr<std::string> n = NormalizeArtifactPath(path);
  EXPECT_TRUE(n.ok()) << path << ": " << n.status().ToString();
  return n.ok() ? *n : "<error>";
}

void ExpectRejected(std::string_view path) {
  StatusOr<std::string> n = NormalizeArtifactPath(path);
  ASSERT_FALSE(n.ok()) << "accepted '" << path << "' as '" << *n << "'";
  EXPECT_THAT(n, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument)) << path;
}

TEST(NormalizeArtifactPathTest, RemovesRedundantSegments) {
  EXPECT_EQ(Normalized("a/./b//c"), "a/b/c");
  EXPECT_EQ(Normalized("a/b/"), "a/b");
  EXPECT_EQ(Normalized("./a"), "a");
  EXPECT_EQ(Normalized("model.pkl"), "model.pkl");
  EXPECT_EQ(Normalized("..hidden/x..y"), "..hidden/x..y");  // Only whole ".." segments escape.
}

TEST(NormalizeArtifactPathTest, RootIsEmpty) {
  EXPECT_EQ(Normalized(""), "");
  EXPECT_EQ(Normalized("."), "");
  EXPECT_EQ(Normalized("./"), "");
}

TEST(NormalizeArtifactPathTest, RejectsEscapes) {
  ExpectRejected("..");
  ExpectRejected("../x");
  ExpectRejected("a/../../x");
  ExpectRejected("a/..");
  ExpectRejected("/abs");
  ExpectRejected("/");
  ExpectRejected("a\\b");
  ExpectRejected("..\\x");
  ExpectRejected(std::string_view("a\0b", 3));
}

TEST(NormalizeArtifactPathTest, ErrorNamesThePath) {
  StatusOr<std::string> n = NormalizeArtifactPath("x/../../etc/passwd");
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(n.status().message(), HasSubstr("x/../../etc/passwd"));
}

// ---------------------------------------------------------------- LocalArtifactStore

class LocalArtifactStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = OpenLocalArtifactStore((dir_.path() / "root").string());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }

  fs::path root() const { return dir_.path() / "root"; }

  TempDir dir_;
  std::unique_ptr<ArtifactStore> store_;
};

TEST_F(LocalArtifactStoreTest, OpenCreatesRootAndSpool) {
  EXPECT_TRUE(fs::is_directory(root()));
  EXPECT_EQ(store_->uri(), "file://" + root().string());
  EXPECT_EQ(fs::path(store_->SpoolDir()), root() / ".spool");
  EXPECT_TRUE(fs::is_directory(store_->SpoolDir()));
}

TEST_F(LocalArtifactStoreTest, PutBytesThenReadBack) {
  std::string binary("\0\x01\xff payload", 11);
  ASSERT_TRUE(store_->PutBytes("models/m1/model.bin", binary).ok());
  StatusOr<std::string> file = store_->LocalFile("models/m1/model.bin");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(fs::path(*file), root() / "models/m1/model.bin");
  EXPECT_EQ(ReadFile(*file), binary);
  // No temp files are left behind in the spool.
  EXPECT_TRUE(fs::is_empty(store_->SpoolDir()));
}

TEST_F(LocalArtifactStoreTest, PutBytesReplacesExistingFile) {
  ASSERT_TRUE(store_->PutBytes("a.txt", "first version").ok());
  ASSERT_TRUE(store_->PutBytes("a.txt", "v2").ok());
  StatusOr<std::string> file = store_->LocalFile("a.txt");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(ReadFile(*file), "v2");
}

TEST_F(LocalArtifactStoreTest, PutBytesNormalizesPath) {
  ASSERT_TRUE(store_->PutBytes("./d//e/./f.txt", "x").ok());
  EXPECT_TRUE(fs::is_regular_file(root() / "d/e/f.txt"));
  StatusOr<std::string> file = store_->LocalFile("d/e/f.txt");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(ReadFile(*file), "x");
}

TEST_F(LocalArtifactStoreTest, RejectsBadPaths) {
  for (const char* bad : {"../escape.txt", "/etc/passwd", "a\\b", "a/../../x"}) {
    EXPECT_THAT(store_->PutBytes(bad, "x"),
                ::cairn::testing::StatusIs(StatusCode::kInvalidArgument))
        << bad;
    EXPECT_THAT(store_->LocalFile(bad), ::cairn::testing::StatusIs(StatusCode::kInvalidArgument))
        << bad;
    EXPECT_THAT(store_->Kind(bad), ::cairn::testing::StatusIs(StatusCode::kInvalidArgument)) << bad;
    EXPECT_THAT(store_->List(bad), ::cairn::testing::StatusIs(StatusCode::kInvalidArgument)) << bad;
    EXPECT_THAT(store_->Delete(bad, nullptr),
                ::cairn::testing::StatusIs(StatusCode::kInvalidArgument))
        << bad;
  }
  EXPECT_FALSE(fs::exists(dir_.path() / "escape.txt"));
  // The root itself is not a file name.
  EXPECT_THAT(store_->PutBytes("", "x"), ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->Delete("", nullptr),
              ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_TRUE(fs::is_directory(root()));
}

TEST_F(LocalArtifactStoreTest, PutFileFromSpoolIsARename) {
  fs::path source = fs::path(store_->SpoolDir()) / "upload-1";
  WriteFile(source, "spooled bytes");
  struct stat source_stat {};
  ASSERT_EQ(::stat(source.c_str(), &source_stat), 0);
  ASSERT_TRUE(store_->PutFile("run/out.txt", source.string(), nullptr).ok());
  EXPECT_FALSE(fs::exists(source));
  fs::path target = root() / "run/out.txt";
  EXPECT_EQ(ReadFile(target.string()), "spooled bytes");
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, source_stat.st_ino) << "the file was copied, not renamed";
}

TEST_F(LocalArtifactStoreTest, PutFileConsumesSourceOutsideSpool) {
  fs::path source = dir_.path() / "elsewhere.bin";
  WriteFile(source, "abc");
  ASSERT_TRUE(store_->PutFile("x/y.bin", source.string(), nullptr).ok());
  EXPECT_FALSE(fs::exists(source));
  StatusOr<std::string> file = store_->LocalFile("x/y.bin");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(ReadFile(*file), "abc");
}

TEST_F(LocalArtifactStoreTest, PutFileWithMissingSourceFails) {
  Status s = store_->PutFile("x.bin", (dir_.path() / "missing").string(), nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(fs::exists(root() / "x.bin"));
}

TEST_F(LocalArtifactStoreTest, LocalFileOfMissingOrDirectoryIsNotFound) {
  ASSERT_TRUE(store_->PutBytes("dir/file", "x").ok());
  EXPECT_THAT(store_->LocalFile("nope"), ::cairn::testing::StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store_->LocalFile("dir"), ::cairn::testing::StatusIs(StatusCode::kNotFound));
}

TEST_F(LocalArtifactStoreTest, Kind) {
  ASSERT_TRUE(store_->PutBytes("dir/file", "x").ok());
  auto kind = [&](std::string_view p) {
    StatusOr<ArtifactKind> k = store_->Kind(p);
    EXPECT_TRUE(k.ok()) << p << ": " << k.status().ToString();
    return k.ok() ? *k : ArtifactKind::kMissing;
  };
  EXPECT_EQ(kind("dir/file"), ArtifactKind::kFile);
  EXPECT_EQ(kind("dir"), ArtifactKind::kDirectory);
  EXPECT_EQ(kind("dir/"), ArtifactKind::kDirectory);
  EXPECT_EQ(kind(""), ArtifactKind::kDirectory);
  EXPECT_EQ(kind("missing"), ArtifactKind::kMissing);
  EXPECT_EQ(kind("dir/file/below"), ArtifactKind::kMissing);
}

TEST_F(LocalArtifactStoreTest, ListIsSortedWithSizesAndDirs) {
  ASSERT_TRUE(store_->PutBytes("b.txt", "12345").ok());
  ASSERT_TRUE(store_->PutBytes("a.txt", "").ok());
  ASSERT_TRUE(store_->PutBytes("model/MLmodel", "flavors: {}").ok());
  ASSERT_TRUE(store_->PutBytes("model/data/weights.bin", std::string(1000, 'w')).ok());
  ASSERT_TRUE(store_->PutBytes("C.txt", "c").ok());

  StatusOr<std::vector<ArtifactEntry>> root = store_->List("");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  // Byte order: uppercase sorts first; ".spool" is never listed.
  EXPECT_EQ(Describe(*root), "C.txt:1 a.txt:0 b.txt:5 model/");

  StatusOr<std::vector<ArtifactEntry>> model = store_->List("model");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(Describe(*model), "model/MLmodel:11 model/data/");
  ASSERT_EQ(model->size(), 2u);
  EXPECT_TRUE((*model)[1].is_dir);
  EXPECT_EQ((*model)[1].file_size, 0);

  // Paths are normalized first, and entry paths are relative to the root.
  StatusOr<std::vector<ArtifactEntry>> data = store_->List("./model//data/");
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(Describe(*data), "model/data/weights.bin:1000");
}

TEST_F(LocalArtifactStoreTest, ListOfMissingDirectoryIsEmpty) {
  StatusOr<std::vector<ArtifactEntry>> entries = store_->List("no/such/dir");
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_THAT(*entries, IsEmpty());
  entries = store_->List("");
  ASSERT_TRUE(entries.ok());
  EXPECT_THAT(*entries, IsEmpty());  // Only .spool exists, and it is hidden.
}

TEST_F(LocalArtifactStoreTest, SpoolIsReserved) {
  for (const char* reserved : {".spool", ".spool/x", "./.spool//x"}) {
    EXPECT_THAT(store_->PutBytes(reserved, "x"),
                ::cairn::testing::StatusIs(StatusCode::kInvalidArgument))
        << reserved;
    EXPECT_THAT(store_->Delete(reserved, nullptr),
                ::cairn::testing::StatusIs(StatusCode::kInvalidArgument))
        << reserved;
    EXPECT_THAT(store_->Kind(reserved), ::cairn::testing::StatusIs(StatusCode::kInvalidArgument))
        << reserved;
    EXPECT_THAT(store_->List(reserved), ::cairn::testing::StatusIs(StatusCode::kInvalidArgument))
        << reserved;
    EXPECT_THAT(store_->LocalFile(reserved),
                ::cairn::testing::StatusIs(StatusCode::kInvalidArgument))
        << reserved;
  }
  EXPECT_TRUE(fs::is_directory(store_->SpoolDir()));
  // Only the top-level ".spool" is special.
  ASSERT_TRUE(store_->PutBytes("run/.spool", "ok").ok());
  EXPECT_EQ(Describe(*store_->List("run")), "run/.spool:2");
}

TEST_F(LocalArtifactStoreTest, DeleteFileAndDirectory) {
  ASSERT_TRUE(store_->PutBytes("keep.txt", "k").ok());
  ASSERT_TRUE(store_->PutBytes("gone.txt", "g").ok());
  ASSERT_TRUE(store_->PutBytes("tree/a/b.txt", "b").ok());
  ASSERT_TRUE(store_->PutBytes("tree/c.txt", "c").ok());

  ASSERT_TRUE(store_->Delete("gone.txt", nullptr).ok());
  EXPECT_EQ(*store_->Kind("gone.txt"), ArtifactKind::kMissing);
  ASSERT_TRUE(store_->Delete("tree", nullptr).ok());
  EXPECT_EQ(*store_->Kind("tree"), ArtifactKind::kMissing);
  EXPECT_EQ(Describe(*store_->List("")), "keep.txt:1");

  EXPECT_THAT(store_->Delete("gone.txt", nullptr),
              ::cairn::testing::StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(store_->Delete("never/was", nullptr),
              ::cairn::testing::StatusIs(StatusCode::kNotFound));
}

// ---------------------------------------------------------------- Links and layout

// Symbolic links inside the store, as someone with access to the filesystem
// could place them: none may be followed. Runs with openat2 and with the
// component-by-component walk used where the kernel lacks it.
class LocalArtifactStoreLinkTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    LocalArtifactStoreOptions options;
    options.use_openat2 = GetParam();
    auto opened = OpenLocalArtifactStore(root().string(), options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    // What the links point at: a folder and a file outside the store.
    fs::create_directories(outside());
    WriteFile(outside() / "secret.txt", "secret");
  }

  fs::path root() const { return dir_.path() / "root"; }
  fs::path outside() const { return dir_.path() / "outside"; }

  // The error of `status`, which must not show where the store lives.
  void ExpectRefused(const Status& status, StatusCode code = StatusCode::kInvalidArgument) {
    EXPECT_EQ(status.code(), code) << status.ToString();
    EXPECT_THAT(status.message(), ::testing::Not(HasSubstr(dir_.path().string())));
  }

  TempDir dir_;
  std::unique_ptr<ArtifactStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Resolvers, LocalArtifactStoreLinkTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? "openat2" : "walk";
                         });

TEST_P(LocalArtifactStoreLinkTest, ReadThroughLinkedFolderIsRefused) {
  fs::create_directories(root() / "1");
  fs::create_directory_symlink(outside(), root() / "1/run");
  StatusOr<std::string> file = store_->LocalFile("1/run/secret.txt");
  ASSERT_FALSE(file.ok()) << "served " << *file;
  ExpectRefused(file.status());
  EXPECT_THAT(file.status().message(), HasSubstr("symbolic link"));
  ExpectRefused(store_->Kind("1/run/secret.txt").status());
}

TEST_P(LocalArtifactStoreLinkTest, ReadOfLinkedFileIsRefused) {
  fs::create_directories(root() / "1/run/artifacts");
  fs::create_symlink(outside() / "secret.txt", root() / "1/run/artifacts/passwd");
  ExpectRefused(store_->LocalFile("1/run/artifacts/passwd").status());
  ExpectRefused(store_->Kind("1/run/artifacts/passwd").status());
}

TEST_P(LocalArtifactStoreLinkTest, ListingLeavesLinksOutAndDoesNotDescend) {
  ASSERT_TRUE(store_->PutBytes("1/run/artifacts/real.txt", "ok").ok());
  fs::create_directory_symlink(outside(), root() / "1/run/artifacts/etc");
  fs::create_symlink(outside() / "secret.txt", root() / "1/run/artifacts/secret.txt");
  StatusOr<std::vector<ArtifactEntry>> entries = store_->List("1/run/artifacts");
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_EQ(Describe(*entries), "1/run/artifacts/real.txt:2");
  ExpectRefused(store_->List("1/run/artifacts/etc").status());
}

TEST_P(LocalArtifactStoreLinkTest, WriteThroughLinkedFolderIsRefused) {
  fs::create_directories(root() / "1");
  fs::create_directory_symlink(outside(), root() / "1/run");
  ExpectRefused(store_->PutBytes("1/run/artifacts/planted.txt", "x"));
  ExpectRefused(store_->PutBytes("1/run/secret.txt", "overwritten"));
  EXPECT_FALSE(fs::exists(outside() / "artifacts"));
  EXPECT_EQ(ReadFile((outside() / "secret.txt").string()), "secret");
}

TEST_P(LocalArtifactStoreLinkTest, WriteOverALinkReplacesTheLinkNotItsTarget) {
  fs::create_directories(root() / "1");
  fs::create_symlink(outside() / "secret.txt", root() / "1/model.bin");
  ASSERT_TRUE(store_->PutBytes("1/model.bin", "new").ok());
  EXPECT_EQ(ReadFile((outside() / "secret.txt").string()), "secret");
  EXPECT_FALSE(fs::is_symlink(root() / "1/model.bin"));
  EXPECT_EQ(ReadFile((root() / "1/model.bin").string()), "new");
}

TEST_P(LocalArtifactStoreLinkTest, DeleteRemovesTheLinkNeverItsTarget) {
  fs::create_directories(root() / "1");
  fs::create_directory_symlink(outside(), root() / "1/run");
  // Through the link: refused, the target untouched.
  ExpectRefused(store_->Delete("1/run/secret.txt", nullptr));
  EXPECT_TRUE(fs::exists(outside() / "secret.txt"));
  // The link itself: removed, the target untouched.
  ASSERT_TRUE(store_->Delete("1/run", nullptr).ok());
  EXPECT_FALSE(fs::is_symlink(root() / "1/run"));
  EXPECT_EQ(ReadFile((outside() / "secret.txt").string()), "secret");
}

TEST_P(LocalArtifactStoreLinkTest, DeletingAFolderWithLinksInsideKeepsTheirTargets) {
  ASSERT_TRUE(store_->PutBytes("1/run/artifacts/a.txt", "a").ok());
  fs::create_directory_symlink(outside(), root() / "1/run/artifacts/dir-link");
  fs::create_symlink(outside() / "secret.txt", root() / "1/run/artifacts/file-link");
  ASSERT_TRUE(store_->Delete("1", nullptr).ok());
  EXPECT_FALSE(fs::exists(root() / "1"));
  EXPECT_EQ(ReadFile((outside() / "secret.txt").string()), "secret");
  EXPECT_THAT(*store_->List(""), IsEmpty());
  EXPECT_TRUE(fs::is_empty(store_->SpoolDir())) << "the deleted folder is gone from the spool";
}

TEST_P(LocalArtifactStoreLinkTest, LinkedRootFolderOfAnExperimentIsRefused) {
  // A whole experiment folder pointing at another experiment's files.
  ASSERT_TRUE(store_->PutBytes("2/run/artifacts/model.pkl", "theirs").ok());
  fs::create_directory_symlink(root() / "2", root() / "3");
  ExpectRefused(store_->LocalFile("3/run/artifacts/model.pkl").status());
  ExpectRefused(store_->List("3/run").status());
  ExpectRefused(store_->PutBytes("3/run/artifacts/model.pkl", "mine"));
  EXPECT_EQ(ReadFile((root() / "2/run/artifacts/model.pkl").string()), "theirs");
}

TEST_F(LocalArtifactStoreTest, PutOntoAFolderIsRefusedWithoutLeftovers) {
  ASSERT_TRUE(store_->PutBytes("2/run/artifacts/f.txt", "x").ok());
  fs::path source = dir_.path() / "upload";
  WriteFile(source, "body");
  Status s = store_->PutFile("2", source.string(), nullptr);
  EXPECT_THAT(s, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument)) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("'2' is a folder"));
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr(root().string())));
  EXPECT_EQ(Describe(*store_->List("")), "2/") << "no '2.tmp-*' left behind";
  EXPECT_EQ(Describe(*store_->List("2/run/artifacts")), "2/run/artifacts/f.txt:1");
}

TEST_F(LocalArtifactStoreTest, PutUnderAFileIsRefusedNamingTheFile) {
  ASSERT_TRUE(store_->PutBytes("2/run/artifacts", "a file").ok());
  Status s = store_->PutBytes("2/run/artifacts/model.pkl", "x");
  EXPECT_THAT(s, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument)) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("'2/run/artifacts' is a file"));
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr(root().string())));
}

TEST_F(LocalArtifactStoreTest, BeforeChangeRunsOnceJustBeforeTheChange) {
  fs::path source = fs::path(store_->SpoolDir()) / "upload";
  WriteFile(source, "body");
  int calls = 0;
  ASSERT_TRUE(store_
                  ->PutFile("run/f.txt", source.string(),
                            [&] {
                              ++calls;
                              EXPECT_FALSE(fs::exists(root() / "run/f.txt"));
                              return Status::Ok();
                            })
                  .ok());
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(store_
                  ->Delete("run",
                           [&] {
                             ++calls;
                             EXPECT_TRUE(fs::exists(root() / "run/f.txt"));
                             return Status::Ok();
                           })
                  .ok());
  EXPECT_EQ(calls, 2);
}

TEST_F(LocalArtifactStoreTest, FailedBeforeChangeChangesNothing) {
  ASSERT_TRUE(store_->PutBytes("run/f.txt", "old").ok());
  auto refuse = [] { return Unavailable("audit log down"); };
  fs::path source = fs::path(store_->SpoolDir()) / "upload";
  WriteFile(source, "new");
  EXPECT_THAT(store_->PutFile("run/f.txt", source.string(), refuse),
              ::cairn::testing::StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(store_->Delete("run", refuse), ::cairn::testing::StatusIs(StatusCode::kUnavailable));
  EXPECT_THAT(store_->Delete("run/f.txt", refuse),
              ::cairn::testing::StatusIs(StatusCode::kUnavailable));
  EXPECT_EQ(ReadFile((root() / "run/f.txt").string()), "old");
}

// ---------------------------------------------------------------- Registry

TEST(ArtifactStoreRegistryTest, OpensFileUris) {
  TempDir dir;
  ArtifactStoreRegistry registry;
  RegisterLocalArtifactStore(&registry);

  auto store = registry.Open("file://" + (dir.path() / "arts").string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->PutBytes("x", "1").ok());
  EXPECT_TRUE(fs::is_regular_file(dir.path() / "arts/x"));

  EXPECT_THAT(registry.Open("file://"), ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  auto s3 = registry.Open("s3://bucket/prefix");
  ASSERT_FALSE(s3.ok());
  EXPECT_THAT(s3, ::cairn::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(s3.status().message(), HasSubstr("file://"));
}

}  // namespace
}  // namespace cairn::artifacts
