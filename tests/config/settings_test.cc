// config::Settings: one declaration per setting, read the same way from a
// YAML file, a flag's text and an environment variable's.
#include "config/settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "status_testing.h"

namespace cairn::config {
namespace {

using ::cairn::testing::IsOk;
using ::cairn::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

struct Example {
  std::string host = "127.0.0.1";
  uint16_t port = 5000;
  uint64_t max_body_bytes = 1024;
  int workers = 0;
  bool insecure = false;
  std::string durability = "full";
};

class SettingsTest : public ::testing::Test {
 protected:
  SettingsTest() {
    settings_.Add("host", &example_.host, "Address to bind");
    settings_.Add("port", &example_.port, "Port");
    settings_.Add("max_body_bytes", &example_.max_body_bytes, "Body limit");
    settings_.Add("workers", &example_.workers, "Threads");
    settings_.Add("insecure", &example_.insecure, "No auth");
    settings_.Add("durability", &example_.durability, "fsync", {"full", "process"});
  }

  std::string WriteYaml(const std::string& text) {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("settings-test-" + std::to_string(counter_++) + ".yaml");
    std::ofstream(path) << text;
    written_.push_back(path);
    return path.string();
  }
  ~SettingsTest() override {
    for (const auto& p : written_) std::filesystem::remove(p);
  }

  Example example_;
  Settings settings_;
  int counter_ = 0;
  std::vector<std::filesystem::path> written_;
};

TEST_F(SettingsTest, OneNameGivesTheFlagTheVariableAndTheKey) {
  const Setting* s = settings_.Find("max_body_bytes");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->Flag(), "--max-body-bytes");
  EXPECT_EQ(s->EnvironmentVariable(), "CAIRN_MAX_BODY_BYTES");
  EXPECT_EQ(s->Current(), "1024");  // The default is the value already there.
  EXPECT_EQ(settings_.Find("nope"), nullptr);
}

TEST_F(SettingsTest, AssignParsesEachTypeAndSaysWhatItTakes) {
  EXPECT_THAT(Settings::Assign(*settings_.Find("port"), "8080"), IsOk());
  EXPECT_EQ(example_.port, 8080);
  EXPECT_THAT(Settings::Assign(*settings_.Find("port"), "65536"),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'port'"), HasSubstr("0 to 65535"), HasSubstr("65536"))));
  EXPECT_EQ(example_.port, 8080);  // A refused value changes nothing.
  EXPECT_THAT(Settings::Assign(*settings_.Find("port"), "-1"),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(Settings::Assign(*settings_.Find("max_body_bytes"), "12x"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("a whole number")));
  EXPECT_THAT(Settings::Assign(*settings_.Find("workers"), " 4 "), IsOk());
  EXPECT_EQ(example_.workers, 4);
  for (const char* yes : {"true", "1", "YES", "on"}) {
    example_.insecure = false;
    EXPECT_THAT(Settings::Assign(*settings_.Find("insecure"), yes), IsOk());
    EXPECT_TRUE(example_.insecure) << yes;
  }
  EXPECT_THAT(Settings::Assign(*settings_.Find("insecure"), "maybe"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("true or false")));
  EXPECT_THAT(Settings::Assign(*settings_.Find("durability"), "sometimes"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("one of full process")));
  EXPECT_EQ(example_.durability, "full");
}

TEST_F(SettingsTest, YamlOverlaysOnlyTheKeysItNames) {
  ASSERT_THAT(settings_.LoadYaml(WriteYaml("port: 7000\ninsecure: true\nhost: 0.0.0.0\n")), IsOk());
  EXPECT_EQ(example_.port, 7000);
  EXPECT_TRUE(example_.insecure);
  EXPECT_EQ(example_.host, "0.0.0.0");
  EXPECT_EQ(example_.max_body_bytes, 1024u);
  EXPECT_THAT(settings_.LoadYaml(WriteYaml("")), IsOk());  // An empty file sets nothing.
}

TEST_F(SettingsTest, ABadFileNamesTheLineAndKeyAndChangesNothing) {
  std::string path = WriteYaml("host: 10.0.0.1\nport: not-a-number\n");
  EXPECT_THAT(
      settings_.LoadYaml(path),
      StatusIs(StatusCode::kInvalidArgument,
               AllOf(HasSubstr(path + " line 2"), HasSubstr("'port'"), HasSubstr("not-a-number"))));
  EXPECT_EQ(example_.host, "127.0.0.1") << "the good key before the bad one was not applied";
  EXPECT_THAT(settings_.LoadYaml(WriteYaml("prot: 1\n")),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("unknown key 'prot'"), HasSubstr("known: host, port"))));
  EXPECT_THAT(settings_.LoadYaml(WriteYaml("port: [1, 2]\n")),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("got a list or map")));
  EXPECT_THAT(settings_.LoadYaml(WriteYaml("- a\n- b\n")),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("mapping")));
  EXPECT_THAT(settings_.LoadYaml(WriteYaml("port: [unclosed\n")),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(settings_.LoadYaml("/no/such/file.yaml"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("Cannot read")));
  EXPECT_EQ(example_.port, 5000);
}

}  // namespace
}  // namespace cairn::config
