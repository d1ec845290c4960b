// Model configuration sources (flags, config file, models dir) and request text
// checks.
#include "server/server_config.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/request_validation.h"

namespace attnserve::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ServerConfigTest, CollectsEveryOccurrenceOfARepeatedFlag) {
  std::vector<std::string> args = {
      "attnserve-server", "--model=a=/m/a", "--port=1",        "--model",
      "b=/m/b",           "-model=c=/m/c",  "--models_dir=/x", "--",
      "--model=d=/m/d"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  EXPECT_THAT(
      CollectRepeatedFlag(static_cast<int>(argv.size()), argv.data(), "model"),
      ElementsAre("a=/m/a", "b=/m/b", "c=/m/c"));
}

TEST(ServerConfigTest, ParsesModelFlags) {
  absl::StatusOr<v1::ModelConfig> model = ParseModelFlag("g=/data/with=sign");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(model->name(), "g");
  EXPECT_EQ(model->path(), "/data/with=sign");
  EXPECT_THAT(ParseModelFlag("nofolder").status().message(),
              HasSubstr("NAME=FOLDER"));
  EXPECT_FALSE(ParseModelFlag("=x").ok());
  EXPECT_FALSE(ParseModelFlag("x=").ok());
}

TEST(ServerConfigTest, RejectsDuplicateAndEmptyNames) {
  v1::ServerConfig config;
  config.add_model()->set_name("a");
  EXPECT_THAT(ValidateServerConfig(config).message(), HasSubstr("no path"));
  config.mutable_model(0)->set_path("/m/a");
  EXPECT_TRUE(ValidateServerConfig(config).ok());
  *config.add_model() = config.model(0);
  EXPECT_THAT(ValidateServerConfig(config).message(),
              HasSubstr("configured twice"));
}

TEST(ServerConfigTest, HealthNamesAreNotModelNames) {
  for (const std::string name : {"liveness", "attnserve.v1.Inference"}) {
    v1::ServerConfig config;
    v1::ModelConfig* model = config.add_model();
    model->set_name(name);
    model->set_path("/m/a");
    const absl::Status status = ValidateServerConfig(config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(status.message(), HasSubstr("reserved grpc.health.v1 name"));
  }
}

TEST(ServerConfigTest, MaxInputTokensMustHoldTheSpecialTokens) {
  v1::ServerConfig config;
  v1::ModelConfig* model = config.add_model();
  model->set_name("enc");
  model->set_path("/m/enc");
  model->mutable_limits()->set_max_input_tokens(1);
  const absl::Status status = ValidateServerConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("model 'enc'"));
  EXPECT_THAT(status.message(),
              HasSubstr("limits.max_input_tokens is 1; it must be at least 2"));
  model->mutable_limits()->set_max_input_tokens(2);
  EXPECT_TRUE(ValidateServerConfig(config).ok());
  model->mutable_limits()->set_max_input_tokens(0);  // the model's own maximum
  EXPECT_TRUE(ValidateServerConfig(config).ok());
}

TEST(ServerConfigTest, ConfigFileErrorsNameFileAndLine) {
  const std::string path = ::testing::TempDir() + "/attnserve_bad_config.txtpb";
  std::ofstream(path) << "model { name: \"a\" }\nmodel { nme: \"b\" }\n";
  absl::Status status = ReadServerConfigFile(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(status.message(), HasSubstr("line 2"));
  EXPECT_EQ(ReadServerConfigFile("/nonexistent/x").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ServerConfigTest, ScansModelFoldersByName) {
  const std::filesystem::path dir =
      ::testing::TempDir() + "/attnserve_models_dir";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "zeta");
  std::filesystem::create_directories(dir / "alpha");
  std::filesystem::create_directories(dir / "not-a-model");
  std::ofstream(dir / "zeta" / "config.json") << "{}";
  std::ofstream(dir / "alpha" / "config.json") << "{}";
  absl::StatusOr<std::vector<v1::ModelConfig>> models =
      ScanModelsDir(dir.string());
  ASSERT_TRUE(models.ok());
  ASSERT_EQ(models->size(), 2u);
  EXPECT_EQ((*models)[0].name(), "alpha");
  EXPECT_EQ((*models)[1].name(), "zeta");
}

}  // namespace
}  // namespace attnserve::server
