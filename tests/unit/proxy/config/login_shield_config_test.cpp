// [login_shield] in the config file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "proxy/config/config_loader.h"

namespace proxy::config {
namespace {

using routing::ShieldDimension;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;

constexpr std::string_view kListener = "[[listener]]\nlisten = \"127.0.0.1:8080\"\n";

std::vector<std::string> errors_of(std::string_view text) {
  auto result = load_string(std::string(kListener) + std::string(text), "t.toml");
  EXPECT_FALSE(result.ok());
  std::vector<std::string> out;
  for (auto& e : result.errors) out.push_back(e.str());
  return out;
}

Config load_ok(std::string_view text) {
  auto result = load_string(std::string(kListener) + std::string(text), "t.toml");
  for (auto& e : result.errors) ADD_FAILURE() << e.str();
  EXPECT_TRUE(result.ok());
  return result.config.value_or(Config{});
}

TEST(LoginShieldConfig, DefaultsWithoutTheTable) {
  Config cfg = load_ok("");
  const auto& s = cfg.login_shield;
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.window, minutes(10));
  EXPECT_EQ(s.block, minutes(10));
  EXPECT_EQ(s.first_delay, seconds(1));
  EXPECT_EQ(s.max_delay, seconds(10));
  EXPECT_EQ(s.table_size, 100'000u);
  EXPECT_TRUE(s.trusted_clients.empty());
  EXPECT_EQ(s.of(ShieldDimension::Address).delay_after, 3u);
  EXPECT_EQ(s.of(ShieldDimension::Address).refuse_after, 10u);
  EXPECT_EQ(s.of(ShieldDimension::Network).refuse_after, 50u);
  EXPECT_EQ(s.of(ShieldDimension::User).refuse_after, 30u);
  EXPECT_EQ(s.of(ShieldDimension::Country).delay_after, 0u);
  EXPECT_EQ(s.of(ShieldDimension::Country).refuse_after, 0u);
}

TEST(LoginShieldConfig, EveryKey) {
  Config cfg = load_ok(R"([geoip]
database = "/d.mmdb"
[login_shield]
enabled = false
window = "15m"
block = "1h"
first_delay = "500ms"
max_delay = "8s"
table_size = 5000
trusted_clients = ["10.0.0.5", "fd00::/64"]
address = { delay_after = 2, refuse_after = 5 }
network = { delay_after = 20, refuse_after = 0 }
[login_shield.user]
delay_after = 4
refuse_after = 40
[login_shield.country]
delay_after = 200
)");
  const auto& s = cfg.login_shield;
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(s.window, minutes(15));
  EXPECT_EQ(s.block, minutes(60));
  EXPECT_EQ(s.first_delay, std::chrono::milliseconds(500));
  EXPECT_EQ(s.max_delay, seconds(8));
  EXPECT_EQ(s.table_size, 5000u);
  ASSERT_EQ(s.trusted_clients.size(), 2u);
  EXPECT_EQ(s.trusted_clients[0], *routing::parse_cidr("10.0.0.5/32"));
  EXPECT_EQ(s.of(ShieldDimension::Address).delay_after, 2u);
  EXPECT_EQ(s.of(ShieldDimension::Address).refuse_after, 5u);
  EXPECT_EQ(s.of(ShieldDimension::Network).delay_after, 20u);
  EXPECT_EQ(s.of(ShieldDimension::Network).refuse_after, 0u);
  EXPECT_EQ(s.of(ShieldDimension::User).delay_after, 4u);
  EXPECT_EQ(s.of(ShieldDimension::User).refuse_after, 40u);
  EXPECT_EQ(s.of(ShieldDimension::Country).delay_after, 200u);
  EXPECT_EQ(s.of(ShieldDimension::Country).refuse_after, 0u);
}

TEST(LoginShieldConfig, BadValuesNameTheirKey) {
  EXPECT_THAT(errors_of("[login_shield]\nwindow = \"0s\"\n"),
              ElementsAre("t.toml:4:10: \"window\" must be greater than 0"));
  EXPECT_THAT(errors_of("[login_shield]\nblock = 600\n"),
              ElementsAre("t.toml:4:9: \"block\" must be a duration string such as \"30s\""));
  EXPECT_THAT(errors_of("[login_shield]\ntable_size = 0\n"),
              ElementsAre("t.toml:4:14: \"table_size\" must be between 1 and 10000000"));
  EXPECT_THAT(errors_of("[login_shield]\nenabled = \"yes\"\n"),
              ElementsAre("t.toml:4:11: \"enabled\" must be true or false"));
  EXPECT_THAT(errors_of("[login_shield]\nfirst_delay = \"5s\"\nmax_delay = \"2s\"\n"),
              ElementsAre("t.toml:5:13: \"max_delay\" must be at least \"first_delay\" in "
                          "[login_shield]"));
  EXPECT_THAT(errors_of("[login_shield]\ntrusted_clients = [\"10.0.0.1/8\", 3]\n"),
              ElementsAre("t.toml:4:20: trusted_clients: bad address range \"10.0.0.1/8\" "
                          "(expected \"ip/prefix\" with the host bits zero, or an address)",
                          "t.toml:4:34: trusted_clients: bad address range (expected "
                          "\"ip/prefix\" with the host bits zero, or an address)"));
  EXPECT_THAT(errors_of("[login_shield]\nwindows = \"10m\"\n"),
              ElementsAre("t.toml:4:1: unknown key \"windows\" in [login_shield]"));
  EXPECT_THAT(errors_of("[login_shield.address]\ndelay_after = -1\n"),
              ElementsAre("t.toml:4:15: \"delay_after\" must be between 0 and 1000000"));
  EXPECT_THAT(errors_of("[login_shield.user]\ndelay_after = 5\nrefuse_after = 3\n"),
              ElementsAre("t.toml:5:16: \"refuse_after\" (3) must be 0 or at least "
                          "\"delay_after\" (5) in [login_shield.user]"));
  EXPECT_THAT(errors_of("[login_shield.network]\nrefuse = 3\n"),
              ElementsAre("t.toml:4:1: unknown key \"refuse\" in [login_shield.network]"));
  EXPECT_THAT(errors_of("[login_shield]\naddress = 3\n"),
              ElementsAre("t.toml:4:11: \"address\" must be a table ([login_shield.address] "
                          "with delay_after and refuse_after)"));
  // At the top level, before any table.
  auto top = load_string("login_shield = true\n" + std::string(kListener), "t.toml");
  ASSERT_EQ(top.errors.size(), 1u);
  EXPECT_EQ(top.errors[0].str(), "t.toml:1:16: \"login_shield\" must be a table ([login_shield])");
}

TEST(LoginShieldConfig, CountriesNeedGeoip) {
  EXPECT_THAT(errors_of("[login_shield]\ncountry = { refuse_after = 500 }\n"),
              ElementsAre("t.toml:4:11: [login_shield.country] needs a [geoip] table with the "
                          "database to look countries up in"));
  // Turned off explicitly: no database needed.
  load_ok("[login_shield]\ncountry = { delay_after = 0, refuse_after = 0 }\n");
}

}  // namespace
}  // namespace proxy::config
