// [geoip] and the access keys of listeners and routes in the config file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proxy/config/config_loader.h"
#include "tests/unit/proxy/config/load_text.h"

namespace proxy::config {
namespace {

using ::testing::ElementsAre;
namespace ip = boost::asio::ip;

routing::Country c(const char* code) {
  return *routing::Country::from_code(code);
}

TEST(GeoipConfig, IssueExample) {
  Config cfg = load_ok(R"([geoip]
database = "/var/lib/GeoIP/GeoLite2-Country.mmdb"

[[listener]]
name = "imaps"
listen = "0.0.0.0:993"
protocol = "tcp"
pool = "imap"
allow_countries = ["BE", "FR", "nl", "LU", "DE"]
allow_unknown_country = true
deny_sources = ["192.0.2.0/24"]

[[route]]
host = "webmail.example.coop"
deny_countries = ["XX"]
allow_sources = ["2001:db8::/32"]
pool = "webmail"

[pool.imap]
nodes = ["10.0.0.11:143"]

[pool.webmail]
nodes = ["10.0.0.21:80"]
)");
  EXPECT_EQ(cfg.geoip.database, "/var/lib/GeoIP/GeoLite2-Country.mmdb");
  EXPECT_EQ(cfg.geoip.header, "X-Country-Code");
  EXPECT_EQ(cfg.geoip.check_interval, std::chrono::seconds(5));
  const auto& l = cfg.listeners[0].access;
  EXPECT_TRUE(l.uses_countries());
  auto any = ip::make_address("203.0.113.1");
  EXPECT_EQ(l.check(any, c("NL")), routing::Refusal::None);
  EXPECT_EQ(l.check(any, c("US")), routing::Refusal::Country);
  EXPECT_EQ(l.check(any, routing::Country()), routing::Refusal::None);
  EXPECT_EQ(l.check(ip::make_address("192.0.2.7"), c("NL")), routing::Refusal::Source);
  const auto& r = cfg.routes[0].access;
  EXPECT_EQ(r.check(any, c("XX")), routing::Refusal::Country);
  EXPECT_EQ(r.check(ip::make_address("2001:db8::1"), c("XX")), routing::Refusal::None);
  EXPECT_EQ(r.allow_sources().size(), 1u);
}

TEST(GeoipConfig, HeaderAndInterval) {
  Config cfg = load_ok(R"([geoip]
database = "/d.mmdb"
header = "X-Geo"
check_interval = "30s"
[[listener]]
listen = "127.0.0.1:8080"
)");
  EXPECT_EQ(cfg.geoip.header, "X-Geo");
  EXPECT_EQ(cfg.geoip.check_interval, std::chrono::seconds(30));
  EXPECT_TRUE(cfg.listeners[0].access.empty());
  cfg = load_ok(
      "[geoip]\ndatabase = \"/d.mmdb\"\nheader = \"\"\n[[listener]]\nlisten = "
      "\"127.0.0.1:8080\"\n");
  EXPECT_EQ(cfg.geoip.header, "");
}

TEST(GeoipConfig, SourcesWithoutGeoip) {
  Config cfg = load_ok(R"([[listener]]
listen = "127.0.0.1:8080"
allow_sources = ["10.0.0.0/8"]
)");
  EXPECT_FALSE(cfg.listeners[0].access.empty());
  EXPECT_FALSE(cfg.listeners[0].access.uses_countries());
  EXPECT_TRUE(cfg.geoip.database.empty());
}

TEST(GeoipConfig, Errors) {
  EXPECT_THAT(errors_of(R"([[listener]]
listen = "127.0.0.1:8080"
deny_countries = ["CN"]
)"),
              ElementsAre("t.toml:3:18: \"deny_countries\" needs a [geoip] table with the "
                          "database to look in"));
  EXPECT_THAT(errors_of(R"([geoip]
database = "/d.mmdb"
[[listener]]
listen = "127.0.0.1:8080"
allow_countries = ["DE", "DEU", 4]
allow_sources = ["10.0.0.1/8"]
)"),
              ElementsAre("t.toml:5:26: allow_countries: each entry must be a two-letter ISO "
                          "3166 country code such as \"DE\"",
                          "t.toml:5:33: allow_countries: each entry must be a two-letter ISO "
                          "3166 country code such as \"DE\"",
                          "t.toml:6:18: allow_sources: bad address range \"10.0.0.1/8\" "
                          "(expected \"ip/prefix\" with the host bits zero, or an address)"));
  EXPECT_THAT(errors_of(R"([geoip]
database = "/d.mmdb"
[[route]]
pool = "p"
allow_countries = ["DE"]
deny_countries = ["CN"]
[[listener]]
listen = "127.0.0.1:8080"
[pool.p]
nodes = ["127.0.0.1:1"]
)"),
              ElementsAre("t.toml:6:18: set \"allow_countries\" or \"deny_countries\", not "
                          "both in [[route]]"));
  EXPECT_THAT(errors_of(R"([geoip]
header = "X Country"
color = 1
[[listener]]
listen = "127.0.0.1:8080"
)"),
              ElementsAre("t.toml:1:1: missing key \"database\" in [geoip]",
                          "t.toml:2:10: \"header\" must be a header name such as "
                          "\"X-Country-Code\" (or \"\" to send none)",
                          "t.toml:3:1: unknown key \"color\" in [geoip]"));
}

}  // namespace
}  // namespace proxy::config
