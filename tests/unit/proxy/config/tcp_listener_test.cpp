// TCP listeners, accept_proxy and a pool's proxy_protocol in the config file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proxy/config/config_loader.h"
#include "tests/unit/proxy/config/load_text.h"

namespace proxy::config {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

namespace ip = boost::asio::ip;

TEST(TcpListenerConfig, MailListenersAndPools) {
  Config c = load_ok(R"([[certificate]]
cert = "/etc/c.pem"
key = "/etc/k.pem"

[[listener]]
name = "imaps"
listen = "0.0.0.0:993"
protocol = "tcp"
tls = true
pool = "imap"
default_certificate = "mail.example.coop"

[[listener]]
name = "submission"
listen = "[::]:587"
protocol = "tcp"
pool = "submission"
idle_timeout = "5m"
connect_timeout = "2s"
accept_proxy = ["192.0.2.0/24", "2001:db8::/32", "127.0.0.1"]

[pool.imap]
nodes = ["10.0.0.11:10143", "10.0.0.12:10143"]
proxy_protocol = "v2"
check = { type = "imap", interval = "5s" }

[pool.submission]
nodes = ["10.0.0.11:10587"]
proxy_protocol = "v1"

[pool.web]
nodes = ["10.0.0.11:8080"]
proxy_protocol = "off"
)");
  ASSERT_EQ(c.listeners.size(), 2u);
  const ListenerSettings& imaps = c.listeners[0];
  EXPECT_EQ(imaps.protocol, Protocol::Tcp);
  EXPECT_TRUE(imaps.tls);
  EXPECT_EQ(imaps.pool, "imap");
  EXPECT_EQ(imaps.default_certificate, "mail.example.coop");
  EXPECT_EQ(imaps.idle_timeout, milliseconds(30 * 60'000));  // the default: IMAP IDLE
  EXPECT_EQ(imaps.connect_timeout, milliseconds(3'000));
  EXPECT_TRUE(imaps.accept_proxy.empty());
  const ListenerSettings& sub = c.listeners[1];
  EXPECT_EQ(sub.idle_timeout, milliseconds(300'000));
  EXPECT_EQ(sub.connect_timeout, milliseconds(2'000));
  ASSERT_EQ(sub.accept_proxy.size(), 3u);
  EXPECT_EQ(sub.accept_proxy[0].prefix, 24);
  EXPECT_EQ(sub.accept_proxy[2].prefix, 32);
  EXPECT_TRUE(sub.accept_proxy[0].contains(ip::make_address("192.0.2.200")));
  EXPECT_FALSE(sub.accept_proxy[0].contains(ip::make_address("192.0.3.1")));
  EXPECT_TRUE(sub.accept_proxy[0].contains(ip::make_address("::ffff:192.0.2.9")));
  EXPECT_TRUE(sub.accept_proxy[1].contains(ip::make_address("2001:db8:ffff::1")));
  EXPECT_FALSE(sub.accept_proxy[1].contains(ip::make_address("2001:db9::1")));
  ASSERT_EQ(c.pools.size(), 3u);
  EXPECT_EQ(c.pools[0].proxy_protocol, routing::ProxyProtocol::V2);
  EXPECT_EQ(c.pools[1].proxy_protocol, routing::ProxyProtocol::V1);
  EXPECT_EQ(c.pools[2].proxy_protocol, routing::ProxyProtocol::Off);
}

TEST(TcpListenerConfig, PoolIsRequiredAndMustExist) {
  EXPECT_THAT(errors_of(R"([[listener]]
listen = "127.0.0.1:143"
protocol = "tcp"
[[listener]]
listen = "127.0.0.1:110"
protocol = "tcp"
pool = "pop"
)"),
              ElementsAre("t.toml:1:1: missing key \"pool\" in [[listener]]",
                          "t.toml:7:8: listener names pool \"pop\", which is not defined"));
}

TEST(TcpListenerConfig, KeysOfTheOtherProtocolAreRefused) {
  EXPECT_THAT(
      errors_of(R"([[listener]]
listen = "127.0.0.1:143"
protocol = "tcp"
pool = "imap"
header_timeout = "5s"
max_header = "8KiB"
[[listener]]
listen = "127.0.0.1:80"
pool = "imap"
idle_timeout = "1m"
accept_proxy = ["127.0.0.1"]
[pool.imap]
nodes = ["10.0.0.1:143"]
)"),
      ElementsAre(
          "t.toml:5:18: \"header_timeout\" applies only to a listener with protocol = \"http\"",
          "t.toml:6:14: \"max_header\" applies only to a listener with protocol = \"http\"",
          "t.toml:9:8: \"pool\" applies only to a listener with protocol = \"tcp\" or \"imap\"",
          "t.toml:10:16: \"idle_timeout\" applies only to a listener with protocol = \"tcp\" or "
          "\"imap\"",
          "t.toml:11:16: \"accept_proxy\" applies only to a listener with protocol = \"tcp\" or "
          "\"imap\""));
}

TEST(TcpListenerConfig, BadAcceptProxyEntries) {
  EXPECT_THAT(
      errors_of(R"([[listener]]
listen = "127.0.0.1:143"
protocol = "tcp"
pool = "imap"
accept_proxy = ["192.0.2.1/24", "10.0.0.0/33", "nonsense", 7, "::1/129", "10.0.0.0/"]
[[listener]]
listen = "127.0.0.1:144"
protocol = "tcp"
pool = "imap"
accept_proxy = []
[[listener]]
listen = "127.0.0.1:145"
protocol = "tcp"
pool = "imap"
accept_proxy = "10.0.0.0/8"
idle_timeout = "0s"
[pool.imap]
nodes = ["10.0.0.1:143"]
)"),
      ElementsAre("t.toml:5:17: accept_proxy: bad address range \"192.0.2.1/24\" (expected "
                  "\"ip/prefix\" with the host bits zero, or an address)",
                  "t.toml:5:33: accept_proxy: bad address range \"10.0.0.0/33\" (expected "
                  "\"ip/prefix\" with the host bits zero, or an address)",
                  "t.toml:5:48: accept_proxy: bad address range \"nonsense\" (expected "
                  "\"ip/prefix\" with the host bits zero, or an address)",
                  "t.toml:5:60: each accept_proxy entry must be a string such as \"192.0.2.0/24\"",
                  "t.toml:5:63: accept_proxy: bad address range \"::1/129\" (expected "
                  "\"ip/prefix\" with the host bits zero, or an address)",
                  "t.toml:5:74: accept_proxy: bad address range \"10.0.0.0/\" (expected "
                  "\"ip/prefix\" with the host bits zero, or an address)",
                  "t.toml:10:16: \"accept_proxy\" is empty: omit it to accept no PROXY header",
                  "t.toml:15:16: \"accept_proxy\" must be an array (a list of address ranges "
                  "such as \"192.0.2.0/24\")",
                  "t.toml:16:16: \"idle_timeout\" must be greater than 0"));
}

TEST(TcpListenerConfig, UnknownProxyProtocol) {
  EXPECT_THAT(errors_of(R"([[listener]]
listen = "127.0.0.1:143"
protocol = "tcp"
pool = "imap"
[pool.imap]
nodes = ["10.0.0.1:143"]
proxy_protocol = "v3"
[pool.b]
nodes = ["10.0.0.1:144"]
proxy_protocol = true
)"),
              ElementsAre("t.toml:7:18: unknown proxy_protocol \"v3\" (expected \"v1\", \"v2\" "
                          "or \"off\")",
                          "t.toml:10:18: \"proxy_protocol\" must be a string"));
}

TEST(TcpListenerConfig, HandshakeTimeoutBoundsAProxyHeaderToo) {
  Config c = load_ok(R"([[listener]]
listen = "127.0.0.1:143"
protocol = "tcp"
pool = "imap"
accept_proxy = ["10.0.0.0/8"]
handshake_timeout = "2s"
[pool.imap]
nodes = ["10.0.0.1:143"]
)");
  EXPECT_EQ(c.listeners.at(0).handshake_timeout, milliseconds(2'000));
  EXPECT_THAT(errors_of(R"([[listener]]
listen = "127.0.0.1:143"
protocol = "tcp"
pool = "imap"
handshake_timeout = "2s"
[pool.imap]
nodes = ["10.0.0.1:143"]
)"),
              ElementsAre("t.toml:5:21: \"handshake_timeout\" applies only to a listener with "
                          "tls = true"));
}

TEST(TcpListenerConfig, CidrParsing) {
  using routing::parse_cidr;
  EXPECT_TRUE(parse_cidr("0.0.0.0/0"));
  EXPECT_TRUE(parse_cidr("::/0"));
  EXPECT_TRUE(parse_cidr("0.0.0.0/0")->contains(ip::make_address("203.0.113.1")));
  EXPECT_FALSE(parse_cidr("0.0.0.0/0")->contains(ip::make_address("2001:db8::1")));
  EXPECT_TRUE(parse_cidr("10.1.2.128/25")->contains(ip::make_address("10.1.2.255")));
  EXPECT_FALSE(parse_cidr("10.1.2.128/25")->contains(ip::make_address("10.1.2.127")));
  EXPECT_FALSE(parse_cidr("10.1.2.129/25"));  // host bits set
  EXPECT_FALSE(parse_cidr("10.1.2.0/-1"));
  EXPECT_FALSE(parse_cidr("fe80::1%eth0"));
  EXPECT_TRUE(parse_cidr("::1")->contains(ip::make_address("::1")));
  EXPECT_FALSE(parse_cidr("::1")->contains(ip::make_address("::2")));
}

}  // namespace
}  // namespace proxy::config
