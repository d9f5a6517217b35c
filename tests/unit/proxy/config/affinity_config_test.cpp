// A pool's affinity, affinity_cookie and its nodes' cookie in the config file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proxy/config/config_loader.h"
#include "proxy/http/affinity_cookie.h"

namespace proxy::config {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> errors_of(std::string_view text) {
  auto result = load_string(text, "t.toml");
  EXPECT_FALSE(result.ok());
  std::vector<std::string> out;
  for (auto& e : result.errors) out.push_back(e.str());
  return out;
}

Config load_ok(std::string_view text) {
  auto result = load_string(text, "t.toml");
  for (auto& e : result.errors) ADD_FAILURE() << e.str();
  EXPECT_TRUE(result.ok());
  return result.config.value_or(Config{});
}

constexpr std::string_view kHead = R"([[listener]]
listen = "127.0.0.1:8080"

[[route]]
pool = "p"

)";

TEST(AffinityConfig, DefaultsAndValues) {
  Config c = load_ok(std::string(kHead) + R"([pool.p]
nodes = ["10.0.0.1:80"]

[pool.q]
affinity = "cookie"
affinity_cookie = "SERVERID"
nodes = [{ address = "10.0.0.1:80", name = "n1" }, { address = "10.0.0.2:80", cookie = "s2" }]

[pool.r]
affinity = "source"
nodes = ["10.0.0.1:80"]
)");
  ASSERT_EQ(c.pools.size(), 3u);
  EXPECT_EQ(c.pools[0].affinity, routing::Affinity::None);
  EXPECT_EQ(c.pools[0].affinity_cookie, "PASSEUR_NODE");
  EXPECT_EQ(c.pools[0].nodes[0].cookie, "");
  EXPECT_EQ(c.pools[1].affinity, routing::Affinity::Cookie);
  EXPECT_EQ(c.pools[1].affinity_cookie, "SERVERID");
  EXPECT_EQ(c.pools[1].nodes[0].cookie, http::affinity_cookie_value("q", "n1"));
  EXPECT_EQ(c.pools[1].nodes[1].cookie, "s2");
  EXPECT_EQ(c.pools[2].affinity, routing::Affinity::Source);
}

TEST(AffinityConfig, BadValuesNameTheirKey) {
  EXPECT_THAT(errors_of(std::string(kHead) + R"([pool.p]
affinity = "sticky"
affinity_cookie = "a b"
nodes = [{ address = "10.0.0.1:80", cookie = "x" }]
)"),
              ElementsAre("t.toml:8:12: unknown affinity \"sticky\" (expected \"none\", "
                          "\"cookie\", \"source\" or \"user\")",
                          "t.toml:9:19: \"affinity_cookie\" applies only to a pool with "
                          "affinity = \"cookie\"",
                          "t.toml:10:46: a node's \"cookie\" applies only to a pool with "
                          "affinity = \"cookie\""));
  EXPECT_THAT(errors_of(std::string(kHead) + R"([pool.p]
affinity = "cookie"
affinity_cookie = "a b"
nodes = [{ address = "10.0.0.1:80", cookie = "x;y" }, { address = "10.0.0.2:80", cookie = "s" },
         { address = "10.0.0.3:80", cookie = "s" }]
)"),
              ElementsAre("t.toml:9:19: \"affinity_cookie\": bad cookie name \"a b\" (letters, "
                          "digits and !#$%&'*+-.^_`|~ only)",
                          "t.toml:10:46: \"cookie\": bad cookie value \"x;y\" (1 to 64 printable "
                          "characters, no space, quote, comma, semicolon or backslash)",
                          "t.toml:11:46: duplicate node cookie \"s\" in [pool.p] (first used at "
                          "line 10)"));
}

TEST(AffinityConfig, TcpListenersRefuseIt) {
  EXPECT_THAT(errors_of(R"([[listener]]
name = "imap"
listen = "127.0.0.1:1143"
protocol = "tcp"
pool = "p"

[pool.p]
affinity = "source"
nodes = ["10.0.0.1:143"]
)"),
              ElementsAre("t.toml:8:12: \"affinity\" applies only to pools of HTTP routes and "
                          "mail listeners: pool \"p\" is used by the tcp listener \"imap\""));
}

}  // namespace
}  // namespace proxy::config
