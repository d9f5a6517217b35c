// The health keys of a pool: check (inline table), slow_start, drain_timeout, passive_failures,
// passive_5xx.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/config/config_loader.h"
#include "tests/unit/proxy/config/load_text.h"

namespace proxy::config {
namespace {

using routing::CheckType;
using std::chrono::milliseconds;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A config whose line 5 onwards is `pool` (the body of [pool.p], which starts at line 4).
std::string with_pool(std::string_view pool) {
  return std::string(R"(route = [{ pool = "p" }]
listener = [{ listen = "127.0.0.1:8080" }]
# the pool under test
[pool.p]
)") + std::string(pool);
}

std::vector<std::string> pool_errors(std::string_view pool) {
  return errors_of(with_pool(pool));
}

routing::PoolSettings pool_ok(std::string_view pool) {
  auto result = load_string(with_pool(pool), "t.toml");
  for (auto& e : result.errors) ADD_FAILURE() << e.str();
  if (!result.ok() || result.config->pools.empty()) return {};
  return result.config->pools[0];
}

TEST(HealthConfig, NoCheckByDefault) {
  auto p = pool_ok(R"(nodes = ["10.0.0.1:80"])");
  EXPECT_EQ(p.check.type, CheckType::None);
  EXPECT_EQ(p.health.passive_failures, 0u) << "passive checks off without an active check";
  EXPECT_FALSE(p.health.passive_5xx);
  EXPECT_EQ(p.health.slow_start, milliseconds(0));
  EXPECT_EQ(p.health.drain_timeout, milliseconds(0));
}

TEST(HealthConfig, NextcloudStatusCheck) {
  auto p = pool_ok(R"(nodes = ["10.0.0.11:8081", "10.0.0.12:8081"]
slow_start = "30s"           # weight ramps from low to full after a node comes back
drain_timeout = "10m"
[pool.p.check]
type = "http"
path = "/status.php"
expect_status = "200-299"
expect_body = '"maintenance":false'
interval = "2s"
timeout = "1s"
rise = 2
fall = 3
)");
  EXPECT_EQ(p.check.type, CheckType::Http);
  EXPECT_EQ(p.check.method, "GET");
  EXPECT_EQ(p.check.path, "/status.php");
  EXPECT_EQ(p.check.host, "");
  EXPECT_EQ(p.check.status_min, 200);
  EXPECT_EQ(p.check.status_max, 299);
  EXPECT_EQ(p.check.expect_body, "\"maintenance\":false");
  EXPECT_EQ(p.check.timeout, milliseconds(1'000));
  EXPECT_EQ(p.check.port, 0);
  EXPECT_EQ(p.check.address, "");
  EXPECT_EQ(p.health.interval, milliseconds(2'000));
  EXPECT_EQ(p.health.rise, 2u);
  EXPECT_EQ(p.health.fall, 3u);
  EXPECT_EQ(p.health.slow_start, milliseconds(30'000));
  EXPECT_EQ(p.health.drain_timeout, milliseconds(600'000));
  EXPECT_EQ(p.health.passive_failures, 3u) << "on by default with an active check";
  EXPECT_FALSE(p.health.passive_5xx);
}

TEST(HealthConfig, InlineTableOnOneLine) {
  auto p = pool_ok(R"(nodes = ["10.0.0.1:80"]
check = { type = "http", path = "/status.php", expect_body = '"maintenance":false', rise = 3 }
)");
  EXPECT_EQ(p.check.type, CheckType::Http);
  EXPECT_EQ(p.check.expect_body, "\"maintenance\":false");
  EXPECT_EQ(p.health.rise, 3u);
}

TEST(HealthConfig, InlineTableOverSeveralLines) {
  // The check exactly as operators write it: an inline table spanning lines (TOML 1.1 allows
  // newlines and a trailing comma inside { }).
  auto p = pool_ok(R"(nodes = ["10.0.0.11:8081", "10.0.0.12:8081"]
check = { type = "http", path = "/status.php", expect_status = "200-299",
          expect_body = "\"maintenance\":false", interval = "2s", timeout = "1s",
          rise = 2, fall = 3 }
slow_start = "30s"           # weight ramps from low to full after a node comes back
drain_timeout = "10m"
)");
  EXPECT_EQ(p.check.type, CheckType::Http);
  EXPECT_EQ(p.check.path, "/status.php");
  EXPECT_EQ(p.check.expect_body, "\"maintenance\":false");
  EXPECT_EQ(p.health.interval, milliseconds(2'000));
  EXPECT_EQ(p.health.fall, 3u);
  EXPECT_EQ(p.health.slow_start, milliseconds(30'000));
  auto q = pool_ok(R"(nodes = ["10.0.0.1:80"]
check = {
  type = "tcp",
  interval = "5s",
}
)");
  EXPECT_EQ(q.check.type, CheckType::Tcp);
  EXPECT_EQ(q.health.interval, milliseconds(5'000));
}

TEST(HealthConfig, CheckDefaults) {
  auto p = pool_ok(R"(nodes = ["10.0.0.1:80"]
check = { type = "http" }
)");
  EXPECT_EQ(p.check.method, "GET");
  EXPECT_EQ(p.check.path, "/");
  EXPECT_EQ(p.check.status_min, 200);
  EXPECT_EQ(p.check.status_max, 399);
  EXPECT_EQ(p.check.expect_body, "");
  EXPECT_EQ(p.check.timeout, milliseconds(1'000));
  EXPECT_EQ(p.health.interval, milliseconds(2'000));
  EXPECT_EQ(p.health.fast_interval, milliseconds(0));
  EXPECT_EQ(p.health.down_interval, milliseconds(0));
  EXPECT_EQ(p.health.rise, 2u);
  EXPECT_EQ(p.health.fall, 3u);
}

TEST(HealthConfig, EveryCheckKey) {
  auto p = pool_ok(R"(nodes = ["10.0.0.1:80"]
passive_failures = 10
passive_5xx = true
[pool.p.check]
type = "http"
method = "HEAD"
path = "/status.php?format=json"
host = "cloud.example.coop"
expect_status = 204
port = 8443
interval = "5s"
fast_interval = "500ms"
down_interval = "30s"
timeout = "2s"
rise = 1
fall = 5
)");
  EXPECT_EQ(p.check.method, "HEAD");
  EXPECT_EQ(p.check.path, "/status.php?format=json");
  EXPECT_EQ(p.check.host, "cloud.example.coop");
  EXPECT_EQ(p.check.status_min, 204);
  EXPECT_EQ(p.check.status_max, 204);
  EXPECT_EQ(p.check.port, 8443);
  EXPECT_EQ(p.check.timeout, milliseconds(2'000));
  EXPECT_EQ(p.health.interval, milliseconds(5'000));
  EXPECT_EQ(p.health.fast_interval, milliseconds(500));
  EXPECT_EQ(p.health.down_interval, milliseconds(30'000));
  EXPECT_EQ(p.health.rise, 1u);
  EXPECT_EQ(p.health.fall, 5u);
  EXPECT_EQ(p.health.passive_failures, 10u);
  EXPECT_TRUE(p.health.passive_5xx);
}

TEST(HealthConfig, EveryCheckType) {
  const std::pair<const char*, CheckType> types[] = {
      {"http", CheckType::Http}, {"tcp", CheckType::Tcp},   {"tls", CheckType::Tls},
      {"imap", CheckType::Imap}, {"pop3", CheckType::Pop3}, {"smtp", CheckType::Smtp}};
  for (auto [name, type] : types) {
    SCOPED_TRACE(name);
    auto p =
        pool_ok("nodes = [\"10.0.0.1:143\"]\ncheck = { type = \"" + std::string(name) + "\" }\n");
    EXPECT_EQ(p.check.type, type);
  }
}

TEST(HealthConfig, CheckAsASubTable) {
  auto p = pool_ok(R"(nodes = ["10.0.0.1:10143"]
[pool.p.check]
type = "imap"
address = "10.0.0.1:143"
)");
  EXPECT_EQ(p.check.type, CheckType::Imap);
  EXPECT_EQ(p.check.address, "10.0.0.1:143");
}

TEST(HealthConfig, TlsCheckWithCa) {
  auto p = pool_ok(R"(nodes = ["10.0.0.1:993"]
check = { type = "tls", ca = "/etc/ssl/coop-ca.pem" }
)");
  EXPECT_EQ(p.check.type, CheckType::Tls);
  EXPECT_EQ(p.check.ca, "/etc/ssl/coop-ca.pem");
}

TEST(HealthConfig, PassiveChecksCanBeTurnedOff) {
  auto p = pool_ok(R"(nodes = ["10.0.0.1:80"]
check = { type = "tcp" }
passive_failures = 0
)");
  EXPECT_EQ(p.health.passive_failures, 0u);
}

TEST(HealthConfig, DrainTimeoutWithoutCheck) {
  auto p = pool_ok(R"(nodes = ["10.0.0.1:80"]
drain_timeout = "30s"
slow_start = "0"
)");
  EXPECT_EQ(p.health.drain_timeout, milliseconds(30'000));
}

TEST(HealthConfig, UnknownKeysInTheCheck) {
  EXPECT_THAT(pool_errors(R"(nodes = ["10.0.0.1:80"]
check = { type = "http", intervall = "2s", proxy_protocol = true }
)"),
              ElementsAre("t.toml:6:26: unknown key \"intervall\" in the check of [pool.p]",
                          "t.toml:6:44: unknown key \"proxy_protocol\" in the check of [pool.p]"));
  EXPECT_THAT(pool_errors(R"(nodes = ["10.0.0.1:80"]
[pool.p.check]
type = "smtp"
helo = "edge"
)"),
              ElementsAre("t.toml:8:1: unknown key \"helo\" in the check of [pool.p]"));
}

TEST(HealthConfig, BadCheckValues) {
  EXPECT_THAT(
      pool_errors(R"(nodes = ["10.0.0.1:80"]
[pool.p.check]
type = "http"
interval = "2 s"
timeout = "0"
rise = 0
fall = "3"
port = 70000
method = "GET /"
path = "status"
expect_status = "200-99"
host = "a b"
expect_body = ""
)"),
      ElementsAre("t.toml:8:12: \"interval\": bad duration \"2 s\" (a whole number with ms, s, "
                  "m or h)",
                  "t.toml:9:11: \"timeout\" must be greater than 0",
                  "t.toml:10:8: \"rise\" must be between 1 and 100",
                  "t.toml:11:8: \"fall\" must be an integer",
                  "t.toml:12:8: \"port\" must be between 1 and 65535",
                  "t.toml:13:10: \"method\" must be an HTTP method such as \"GET\" or \"HEAD\"",
                  "t.toml:14:8: \"path\" must start with \"/\"",
                  HasSubstr("\"expect_status\" must be a status or a range"),
                  HasSubstr("\"host\" must be a host name"),
                  HasSubstr("\"expect_body\" must not be empty")));
}

TEST(HealthConfig, TypeIsRequiredAndKnown) {
  EXPECT_THAT(pool_errors(R"(nodes = ["10.0.0.1:80"]
check = { path = "/" }
)"),
              ElementsAre("t.toml:6:9: missing key \"type\" in the check of [pool.p]"));
  EXPECT_THAT(pool_errors(R"(nodes = ["10.0.0.1:80"]
check = { type = "ldap" }
)"),
              ElementsAre(HasSubstr("t.toml:6:18: unknown check type \"ldap\"")));
}

TEST(HealthConfig, CheckMustBeATable) {
  EXPECT_THAT(pool_errors(R"(nodes = ["10.0.0.1:80"]
check = "http"
)"),
              ElementsAre(HasSubstr("t.toml:6:9: \"check\" must be a table")));
}

TEST(HealthConfig, HttpKeysOnlyForHttp) {
  EXPECT_THAT(pool_errors(R"(nodes = ["10.0.0.1:143"]
check = { type = "imap", path = "/", expect_status = 200 }
)"),
              ElementsAre("t.toml:6:33: \"path\" applies only to a check of type \"http\"",
                          "t.toml:6:54: \"expect_status\" applies only to a check of type "
                          "\"http\""));
}

TEST(HealthConfig, CaOnlyForTls) {
  EXPECT_THAT(pool_errors(R"(nodes = ["10.0.0.1:80"]
check = { type = "http", ca = "/ca.pem" }
)"),
              ElementsAre(HasSubstr("t.toml:6:31: \"ca\" applies only to a check of type "
                                    "\"tls\"")));
}

TEST(HealthConfig, AddressAndPortExclusive) {
  EXPECT_THAT(pool_errors(R"(nodes = ["10.0.0.1:80"]
check = { type = "tcp", port = 81, address = "10.0.0.2:81" }
)"),
              ElementsAre(HasSubstr("t.toml:6:46: \"address\" and \"port\" cannot be used")));
  EXPECT_THAT(pool_errors(R"(nodes = ["10.0.0.1:80"]
check = { type = "tcp", address = "somewhere:81" }
)"),
              ElementsAre(HasSubstr("t.toml:6:35: \"address\": bad address")));
}

TEST(HealthConfig, PassiveAndSlowStartNeedACheck) {
  EXPECT_THAT(
      pool_errors(R"(nodes = ["10.0.0.1:80"]
slow_start = "30s"
passive_failures = 3
passive_5xx = true
)"),
      ElementsAre("t.toml:6:14: \"slow_start\" applies only to a pool with a \"check\"",
                  "t.toml:7:20: \"passive_failures\" needs a \"check\" in [pool.p] to bring "
                  "nodes back up",
                  "t.toml:8:15: \"passive_5xx\" needs a \"check\" in [pool.p] to bring nodes "
                  "back up"));
}

TEST(HealthConfig, Passive5xxNeedsPassiveFailures) {
  EXPECT_THAT(pool_errors(R"(nodes = ["10.0.0.1:80"]
check = { type = "tcp" }
passive_failures = 0
passive_5xx = true
)"),
              ElementsAre("t.toml:8:15: \"passive_5xx\" needs \"passive_failures\" above 0"));
}

TEST(HealthConfig, BadPoolHealthValues) {
  EXPECT_THAT(pool_errors(R"(nodes = ["10.0.0.1:80"]
check = { type = "tcp" }
slow_start = 30
drain_timeout = "ten minutes"
passive_failures = -1
passive_5xx = "yes"
)"),
              ElementsAre(HasSubstr("t.toml:7:14: \"slow_start\" must be a duration"),
                          HasSubstr("t.toml:8:17: \"drain_timeout\": bad duration"),
                          HasSubstr("t.toml:9:20: \"passive_failures\" must be between 0 and"),
                          HasSubstr("t.toml:10:15: \"passive_5xx\" must be true or false")));
}

TEST(HealthConfig, StatusRanges) {
  const std::pair<const char*, std::pair<uint16_t, uint16_t>> good[] = {{"\"200-399\"", {200, 399}},
                                                                        {"\"204\"", {204, 204}},
                                                                        {"\"100-599\"", {100, 599}},
                                                                        {"503", {503, 503}}};
  for (auto [text, range] : good) {
    SCOPED_TRACE(text);
    auto p = pool_ok("nodes = [\"10.0.0.1:80\"]\ncheck = { type = \"http\", expect_status = " +
                     std::string(text) + " }\n");
    EXPECT_EQ(p.check.status_min, range.first);
    EXPECT_EQ(p.check.status_max, range.second);
  }
  for (const char* bad :
       {"\"\"", "\"-\"", "\"200-\"", "\"-299\"", "\"299-200\"", "\"99\"", "\"600\"", "\"2xx\"",
        "\"200 - 299\"", "\"200-299-399\"", "\"+200\"", "\"200-600\"", "99", "600", "true"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(pool_errors("nodes = [\"10.0.0.1:80\"]\ncheck = { type = \"http\", "
                            "expect_status = " +
                            std::string(bad) + " }\n"),
                ElementsAre(HasSubstr("\"expect_status\" must be a status or a range")));
  }
}

}  // namespace
}  // namespace proxy::config
