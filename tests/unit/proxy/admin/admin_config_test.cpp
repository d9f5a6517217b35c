// [server] admin_token_file, and the token required off loopback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "proxy/config/config_loader.h"

namespace proxy::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kRest = R"(
[[listener]]
listen = "127.0.0.1:8080"

[[route]]
pool = "p"

[pool.p]
nodes = ["10.0.0.1:80"]
)";

class AdminConfig : public ::testing::Test {
 protected:
  void SetUp() override { std::ofstream(token_path_) << "  0123456789abcdef0123\n"; }
  void TearDown() override { std::remove(token_path_.c_str()); }
  LoadResult load(const std::string& server) {
    return load_string("[server]\n" + server + std::string(kRest), "t.toml");
  }
  std::vector<std::string> errors(const std::string& server) {
    std::vector<std::string> out;
    for (auto& e : load(server).errors) out.push_back(e.str());
    return out;
  }
  std::string token_path_ =
      ::testing::TempDir() + "passeur_admin_token_" + std::to_string(::getpid());
};

TEST_F(AdminConfig, DefaultIsLoopbackWithoutToken) {
  auto r = load("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->server.admin_listen, "127.0.0.1:9900");
  EXPECT_EQ(r.config->server.admin_token_file, "");
  EXPECT_EQ(r.config->server.admin_token, "");
  EXPECT_TRUE(load("admin_listen = \"127.0.0.2:9901\"\n").ok());
  EXPECT_TRUE(load("admin_listen = \"[::1]:9901\"\n").ok());
}

TEST_F(AdminConfig, TokenFileIsRead) {
  auto r = load("admin_token_file = \"" + token_path_ + "\"\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->server.admin_token_file, token_path_);
  EXPECT_EQ(r.config->server.admin_token, "0123456789abcdef0123");
}

TEST_F(AdminConfig, OffLoopbackNeedsAToken) {
  EXPECT_THAT(errors("admin_listen = \"0.0.0.0:9900\"\n"),
              ElementsAre("t.toml:2:16: admin_listen \"0.0.0.0:9900\" is not a loopback address: "
                          "set admin_token_file (the admin API needs a bearer token off "
                          "loopback)"));
  EXPECT_THAT(errors("admin_listen = \"[::]:9900\"\n"), ElementsAre(HasSubstr("loopback")));
  EXPECT_THAT(errors("admin_listen = \"10.0.0.1:9900\"\n"), ElementsAre(HasSubstr("loopback")));
  auto r = load("admin_listen = \"10.0.0.1:9900\"\nadmin_token_file = \"" + token_path_ + "\"\n");
  EXPECT_TRUE(r.ok());
}

TEST_F(AdminConfig, BadTokenFiles) {
  EXPECT_THAT(errors("admin_token_file = \"/nonexistent/token\"\n"),
              ElementsAre("t.toml:2:20: admin_token_file \"/nonexistent/token\": cannot read: No "
                          "such file or directory"));
  EXPECT_THAT(errors("admin_token_file = \"\"\n"),
              ElementsAre("t.toml:2:20: \"admin_token_file\" must be a file path"));
  EXPECT_THAT(errors("admin_token_file = 3\n"),
              ElementsAre("t.toml:2:20: \"admin_token_file\" must be a string"));
  std::ofstream(token_path_) << "\n";
  EXPECT_THAT(errors("admin_token_file = \"" + token_path_ + "\"\n"),
              ElementsAre(HasSubstr("is empty")));
  // A broken token file off loopback is reported once, for the file.
  EXPECT_EQ(errors("admin_listen = \"10.0.0.1:9900\"\nadmin_token_file = \"" + token_path_ + "\"\n")
                .size(),
            1u);
}

}  // namespace
}  // namespace proxy::config
