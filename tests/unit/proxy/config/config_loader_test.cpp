#include "proxy/config/config_loader.h"
#include "tests/unit/proxy/config/load_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

namespace proxy::config {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

constexpr std::string_view kExample = R"([server]
workers = 2                     # default: one per core (0)
admin_listen = "127.0.0.1:9900"
access_log = "stdout"           # "stdout" | "off" | a file path
grace_period = "30s"

[[listener]]
name = "web"
listen = "127.0.0.1:8080"
protocol = "http"
# optional: header_timeout="10s", keepalive_timeout="60s", client_timeout="60s", max_header="32KiB", forwarded=false, via=false

[[route]]
host = "webmail.example.coop"   # exact, or "*.example.coop"; omitted = any host
path_prefix = "/"               # default "/"
pool = "webmail"
# optional: max_body (size, default "64MiB", "0" = unlimited), connect_timeout="3s", response_timeout="60s", tunnel_timeout="1h"

[[route]]
host = "cloud.example.coop"
pool = "cloud"
max_body = "0"

[pool.webmail]
balance = "least_loaded"        # least_loaded (default) | round_robin
nodes = ["10.0.0.11:8080", "10.0.0.12:8080"]
# optional: max_idle = 32 (int), idle_timeout = "30s"

[pool.cloud]
nodes = [ { address = "10.0.0.11:8081", name = "node1", weight = 2 },
          { address = "10.0.0.12:8081", name = "node2" } ]
)";

void expect_example(const Config& c) {
  EXPECT_EQ(c.server.workers, 2u);
  EXPECT_EQ(c.server.admin_listen, "127.0.0.1:9900");
  EXPECT_EQ(c.server.access_log, "stdout");
  EXPECT_EQ(c.server.grace_period, milliseconds(30'000));

  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].name, "web");
  EXPECT_EQ(c.listeners[0].listen, "127.0.0.1:8080");
  EXPECT_EQ(c.listeners[0].protocol, Protocol::Http);

  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].host, "webmail.example.coop");
  EXPECT_EQ(c.routes[0].path_prefix, "/");
  EXPECT_EQ(c.routes[0].pool, "webmail");
  EXPECT_EQ(c.routes[0].max_body, 64u << 20);
  EXPECT_EQ(c.routes[1].host, "cloud.example.coop");
  EXPECT_EQ(c.routes[1].pool, "cloud");
  EXPECT_EQ(c.routes[1].max_body, 0u);

  ASSERT_EQ(c.pools.size(), 2u);
  EXPECT_EQ(c.pools[0].name, "webmail");
  EXPECT_EQ(c.pools[0].balance, routing::Balance::LeastLoaded);
  ASSERT_EQ(c.pools[0].nodes.size(), 2u);
  EXPECT_EQ(c.pools[0].nodes[0].name, "10.0.0.11:8080");
  EXPECT_EQ(c.pools[0].nodes[0].address, "10.0.0.11:8080");
  EXPECT_EQ(c.pools[0].nodes[0].weight, 1u);
  EXPECT_EQ(c.pools[0].nodes[1].address, "10.0.0.12:8080");
  EXPECT_EQ(c.pools[1].name, "cloud");
  ASSERT_EQ(c.pools[1].nodes.size(), 2u);
  EXPECT_EQ(c.pools[1].nodes[0].name, "node1");
  EXPECT_EQ(c.pools[1].nodes[0].address, "10.0.0.11:8081");
  EXPECT_EQ(c.pools[1].nodes[0].weight, 2u);
  EXPECT_EQ(c.pools[1].nodes[1].name, "node2");
  EXPECT_EQ(c.pools[1].nodes[1].address, "10.0.0.12:8081");
  EXPECT_EQ(c.pools[1].nodes[1].weight, 1u);
}

TEST(ConfigLoader, ParsesTheReferenceExample) {
  Config c = load_ok(kExample);
  EXPECT_EQ(c.path, "t.toml");
  expect_example(c);
}

TEST(ConfigLoader, ShippedExampleLoads) {
  std::string path = PASSEUR_SOURCE_DIR "/deploy/examples/coop-edge.toml";
  auto result = load_file(path);
  for (auto& e : result.errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->path, path);
  expect_example(*result.config);
}

TEST(ConfigLoader, Defaults) {
  Config c = load_ok(R"([[listener]]
listen = "[::1]:8080"
[[route]]
pool = "p"
[pool.p]
nodes = ["10.0.0.1:80"]
)");
  EXPECT_EQ(c.server.workers, 0u);
  EXPECT_EQ(c.server.admin_listen, "127.0.0.1:9900");
  EXPECT_EQ(c.server.access_log, "stdout");
  EXPECT_EQ(c.server.grace_period, milliseconds(30'000));
  ASSERT_EQ(c.listeners.size(), 1u);
  const auto& l = c.listeners[0];
  EXPECT_EQ(l.name, "[::1]:8080");
  EXPECT_EQ(l.protocol, Protocol::Http);
  EXPECT_EQ(l.header_timeout, milliseconds(10'000));
  EXPECT_EQ(l.keepalive_timeout, milliseconds(60'000));
  EXPECT_EQ(l.client_timeout, milliseconds(60'000));
  EXPECT_EQ(l.max_header, 32u * 1024);
  EXPECT_FALSE(l.forwarded);
  EXPECT_FALSE(l.via);
  ASSERT_EQ(c.routes.size(), 1u);
  const auto& r = c.routes[0];
  EXPECT_EQ(r.host, std::nullopt);
  EXPECT_EQ(r.path_prefix, "/");
  EXPECT_EQ(r.max_body, 64u << 20);
  EXPECT_EQ(r.timeouts.connect, milliseconds(3'000));
  EXPECT_EQ(r.timeouts.response, milliseconds(60'000));
  EXPECT_EQ(r.timeouts.tunnel, milliseconds(3'600'000));
  EXPECT_EQ(r.timeouts.expect, milliseconds(1'000));
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].balance, routing::Balance::LeastLoaded);
  EXPECT_EQ(c.pools[0].max_idle, 32u);
  EXPECT_EQ(c.pools[0].idle_timeout, milliseconds(30'000));
  EXPECT_EQ(c.pools[0].nodes[0].weight, 1u);
}

TEST(ConfigLoader, EveryOptionalKey) {
  Config c = load_ok(R"([server]
workers = 0
access_log = "/var/log/passeur/access.log"
grace_period = "0"
[[listener]]
listen = "0.0.0.0:80"
header_timeout = "5s"
keepalive_timeout = "2m"
client_timeout = "250ms"
max_header = "64KiB"
forwarded = true
via = true
[[route]]
host = "*.Example.COOP"
path_prefix = "/remote.php/dav"
pool = "p"
max_body = 1048576
connect_timeout = "1s"
response_timeout = "2m"
tunnel_timeout = "2h"
expect_timeout = "300ms"
[pool.p]
balance = "round_robin"
max_idle = 0
idle_timeout = "5s"
nodes = [{ address = "[2001:db8::1]:80", weight = 256 }]
)");
  EXPECT_EQ(c.server.access_log, "/var/log/passeur/access.log");
  EXPECT_EQ(c.server.grace_period, milliseconds(0));
  const auto& l = c.listeners.at(0);
  EXPECT_EQ(l.header_timeout, milliseconds(5'000));
  EXPECT_EQ(l.keepalive_timeout, milliseconds(120'000));
  EXPECT_EQ(l.client_timeout, milliseconds(250));
  EXPECT_EQ(l.max_header, 64u * 1024);
  EXPECT_TRUE(l.forwarded);
  EXPECT_TRUE(l.via);
  const auto& r = c.routes.at(0);
  EXPECT_EQ(r.host, "*.example.coop");
  EXPECT_EQ(r.path_prefix, "/remote.php/dav");
  EXPECT_EQ(r.max_body, 1048576u);
  EXPECT_EQ(r.timeouts.connect, milliseconds(1'000));
  EXPECT_EQ(r.timeouts.response, milliseconds(120'000));
  EXPECT_EQ(r.timeouts.tunnel, milliseconds(7'200'000));
  EXPECT_EQ(r.timeouts.expect, milliseconds(300));
  const auto& p = c.pools.at(0);
  EXPECT_EQ(p.balance, routing::Balance::RoundRobin);
  EXPECT_EQ(p.max_idle, 0u);
  EXPECT_EQ(p.idle_timeout, milliseconds(5'000));
  EXPECT_EQ(p.nodes.at(0).name, "[2001:db8::1]:80");
  EXPECT_EQ(p.nodes.at(0).weight, 256u);
}

TEST(ConfigLoader, PoolsKeepFileOrder) {
  Config c = load_ok(R"([[listener]]
listen = "127.0.0.1:80"
[pool.zeta]
nodes = ["10.0.0.1:80"]
[pool.alpha]
nodes = ["10.0.0.2:80"]
[pool.mid]
nodes = ["10.0.0.3:80"]
)");
  ASSERT_EQ(c.pools.size(), 3u);
  EXPECT_EQ(c.pools[0].name, "zeta");
  EXPECT_EQ(c.pools[1].name, "alpha");
  EXPECT_EQ(c.pools[2].name, "mid");
}

TEST(ConfigLoader, HostIsLowercased) {
  Config c = load_ok(R"([[listener]]
listen = "127.0.0.1:80"
[[route]]
host = "WebMail.Example.Coop"
pool = "p"
[pool.p]
nodes = ["10.0.0.1:80"]
)");
  EXPECT_EQ(c.routes.at(0).host, "webmail.example.coop");
}

TEST(ConfigLoader, SyntaxError) {
  EXPECT_THAT(errors_of("[[listener]]\nlisten = = 2\n"),
              ElementsAre(::testing::StartsWith("t.toml:2:10: ")));
}

TEST(ConfigLoader, UnknownKeys) {
  EXPECT_THAT(errors_of(R"(colour = 1
[server]
workerz = 2
[[listener]]
listen = "127.0.0.1:80"
  timeout = "1s"
[[route]]
pool = "p"
hots = "a"
[pool.p]
nodez = 1
nodes = [{ address = "10.0.0.1:80", wieght = 2 }]
)"),
              ElementsAre("t.toml:1:1: unknown key \"colour\" at the top level",
                          "t.toml:3:1: unknown key \"workerz\" in [server]",
                          "t.toml:6:3: unknown key \"timeout\" in [[listener]]",
                          "t.toml:9:1: unknown key \"hots\" in [[route]]",
                          "t.toml:11:1: unknown key \"nodez\" in [pool.p]",
                          "t.toml:12:37: unknown key \"wieght\" in a node of [pool.p]"));
}

TEST(ConfigLoader, WrongTypes) {
  EXPECT_THAT(
      errors_of(R"([server]
workers = "two"
access_log = false
grace_period = 30
[[listener]]
listen = 8080
name = 1
forwarded = "yes"
max_header = 1.5
[[route]]
pool = ["p"]
[pool.p]
nodes = "10.0.0.1:80"
)"),
      ElementsAre("t.toml:2:11: \"workers\" must be an integer",
                  "t.toml:3:14: \"access_log\" must be a string",
                  "t.toml:4:16: \"grace_period\" must be a duration string such as \"30s\"",
                  "t.toml:6:10: \"listen\" must be a string",
                  "t.toml:7:8: \"name\" must be a string",
                  "t.toml:8:13: \"forwarded\" must be true or false",
                  "t.toml:9:14: \"max_header\" must be a size such as \"64MiB\" or a number",
                  "t.toml:11:8: \"pool\" must be a string",
                  "t.toml:13:9: \"nodes\" must be an array (a list of nodes)"));
}

TEST(ConfigLoader, WrongSectionTypes) {
  EXPECT_THAT(errors_of(R"(server = 1
pool = { a = 2 }
route = { pool = "a" }
listener = [1, { listen = "127.0.0.1:80" }]
)"),
              ElementsAre("t.toml:1:10: \"server\" must be a table ([server])",
                          "t.toml:2:14: pool \"a\" must be a table ([pool.a])",
                          "t.toml:3:9: \"route\" must be an array ([[route]])",
                          "t.toml:4:13: each \"listener\" must be a table ([[listener]])"));
}

TEST(ConfigLoader, RouteToMissingPoolAndRouteWithoutPool) {
  EXPECT_THAT(errors_of(R"([[listener]]
listen = "127.0.0.1:80"
[[route]]
host = "a.example.coop"
pool = "nope"
[[route]]
host = "b.example.coop"
)"),
              ElementsAre("t.toml:5:8: route names pool \"nope\", which is not defined",
                          "t.toml:6:1: missing key \"pool\" in [[route]]"));
}

TEST(ConfigLoader, BadAddresses) {
  EXPECT_THAT(
      errors_of(R"([server]
admin_listen = "localhost:9900"
[[listener]]
listen = "127.0.0.1:0"
[[listener]]
name = "x"
[pool.p]
nodes = ["10.0.0.1", { address = "[::1]:99999" }, { name = "n" }]
)"),
      ElementsAre(
          "t.toml:2:16: \"admin_listen\": bad address \"localhost:9900\" (expected \"ip:port\" or "
          "\"[ipv6]:port\")",
          "t.toml:4:10: \"listen\": bad address \"127.0.0.1:0\" (expected \"ip:port\" or "
          "\"[ipv6]:port\")",
          "t.toml:5:1: missing key \"listen\" in [[listener]]",
          "t.toml:8:10: bad node address \"10.0.0.1\" (expected \"ip:port\" or \"[ipv6]:port\")",
          "t.toml:8:34: \"address\": bad address \"[::1]:99999\" (expected \"ip:port\" or "
          "\"[ipv6]:port\")",
          "t.toml:8:51: missing key \"address\" in a node of [pool.p]"));
}

TEST(ConfigLoader, DuplicateListeners) {
  EXPECT_THAT(errors_of(R"([[listener]]
name = "web"
listen = "127.0.0.1:80"
[[listener]]
name = "web"
listen = "127.0.0.1:81"
[[listener]]
name = "other"
listen = "127.0.0.1:080"
[[listener]]
listen = "127.0.0.1:9900"
)"),
              ElementsAre("t.toml:5:8: duplicate listener name \"web\" (first used at line 2)",
                          "t.toml:9:10: duplicate listen address \"127.0.0.1:080\" (first used at "
                          "line 3)",
                          "t.toml:11:10: listen address \"127.0.0.1:9900\" is also the "
                          "admin_listen address (the default)"));
}

TEST(ConfigLoader, ListenerOnTheAdminAddress) {
  EXPECT_THAT(errors_of(R"([server]
admin_listen = "[::1]:9000"
[[listener]]
listen = "[0:0::1]:9000"
)"),
              ElementsAre("t.toml:4:10: listen address \"[0:0::1]:9000\" is also the "
                          "admin_listen address (line 2)"));
}

TEST(ConfigLoader, DuplicateNodes) {
  EXPECT_THAT(errors_of(R"([[listener]]
listen = "127.0.0.1:80"
[pool.p]
nodes = ["10.0.0.1:80", "10.0.0.1:80",
  { address = "10.0.0.2:80", name = "10.0.0.1:80" },
  { address = "10.0.0.3:80", name = "a" },
  { address = "10.0.0.4:80", name = "a" }]
[pool.q]
nodes = ["10.0.0.1:80"]
)"),
              ElementsAre("t.toml:4:25: duplicate node address \"10.0.0.1:80\" in [pool.p] "
                          "(first used at line 4)",
                          "t.toml:5:37: duplicate node name \"10.0.0.1:80\" in [pool.p] (first "
                          "used at line 4)",
                          "t.toml:7:37: duplicate node name \"a\" in [pool.p] (first used at "
                          "line 6)"));
}

TEST(ConfigLoader, DuplicateRoutes) {
  EXPECT_THAT(errors_of(R"([[listener]]
listen = "127.0.0.1:80"
[[route]]
host = "a.example.coop"
pool = "p"
[[route]]
host = "A.example.coop"
path_prefix = "/"
pool = "p"
[[route]]
pool = "p"
[[route]]
path_prefix = "/"
pool = "p"
[pool.p]
nodes = ["10.0.0.1:80"]
)"),
              ElementsAre("t.toml:6:1: route for host \"a.example.coop\" and path_prefix \"/\" "
                          "repeats the one at line 3",
                          "t.toml:12:1: route for any host and path_prefix \"/\" repeats the one "
                          "at line 10"));
}

TEST(ConfigLoader, BadDurationsAndSizes) {
  EXPECT_THAT(
      errors_of(R"([server]
grace_period = "30 s"
[[listener]]
listen = "127.0.0.1:80"
header_timeout = "10"
keepalive_timeout = "0"
max_header = "32KB"
[[route]]
pool = "p"
max_body = -1
connect_timeout = "1.5s"
[pool.p]
idle_timeout = "0s"
nodes = ["10.0.0.1:80"]
[[listener]]
listen = "127.0.0.1:81"
max_header = "2MiB"
)"),
      ElementsAre(
          "t.toml:2:16: \"grace_period\": bad duration \"30 s\" (a whole number with ms, s, m or "
          "h)",
          "t.toml:5:18: \"header_timeout\": bad duration \"10\" (a whole number with ms, s, m or "
          "h)",
          "t.toml:6:21: \"keepalive_timeout\" must be greater than 0",
          "t.toml:7:14: \"max_header\": bad size \"32KB\" (a whole number of bytes, KiB, MiB or "
          "GiB)",
          "t.toml:10:12: \"max_body\" must not be negative",
          "t.toml:11:19: \"connect_timeout\": bad duration \"1.5s\" (a whole number with ms, s, m "
          "or h)",
          "t.toml:13:16: \"idle_timeout\" must be greater than 0",
          "t.toml:17:14: \"max_header\" must be between 1KiB and 1MiB"));
}

TEST(ConfigLoader, UnknownBalanceAndProtocol) {
  EXPECT_THAT(errors_of(R"([[listener]]
listen = "127.0.0.1:80"
protocol = "HTTP"
[pool.p]
balance = "random"
nodes = ["10.0.0.1:80"]
)"),
              ElementsAre("t.toml:3:12: unknown protocol \"HTTP\" (expected \"http\", \"tcp\", "
                          "\"imap\", \"pop3\" or \"smtp\")",
                          "t.toml:5:11: unknown balance \"random\" (expected \"least_loaded\" or "
                          "\"round_robin\")"));
}

TEST(ConfigLoader, IntegerRanges) {
  EXPECT_THAT(errors_of(R"([server]
workers = 257
[[listener]]
listen = "127.0.0.1:80"
[pool.p]
max_idle = -1
nodes = [{ address = "10.0.0.1:80", weight = 0 },
         { address = "10.0.0.2:80", weight = 257 }]
)"),
              ElementsAre("t.toml:2:11: \"workers\" must be between 0 and 256",
                          "t.toml:6:12: \"max_idle\" must be between 0 and 65536",
                          "t.toml:7:46: \"weight\" must be between 1 and 256",
                          "t.toml:8:46: \"weight\" must be between 1 and 256"));
  EXPECT_THAT(errors_of("[server]\nworkers = -1\n[[listener]]\nlisten = \"127.0.0.1:80\"\n"),
              ElementsAre("t.toml:2:11: \"workers\" must be between 0 and 256"));
}

TEST(ConfigLoader, AtLeastOneListener) {
  EXPECT_THAT(errors_of(""), ElementsAre("t.toml:1:1: no [[listener]]: at least one is required"));
  EXPECT_THAT(errors_of("listener = []\n[server]\nworkers = 1\n"),
              ElementsAre("t.toml:1:12: no [[listener]]: at least one is required"));
}

TEST(ConfigLoader, PoolWithoutNodes) {
  EXPECT_THAT(errors_of(R"([[listener]]
listen = "127.0.0.1:80"
[pool.a]
balance = "round_robin"
[pool.b]
nodes = []
[pool.c]
nodes = [42]
)"),
              ElementsAre("t.toml:3:1: missing key \"nodes\" in [pool.a]",
                          "t.toml:6:9: pool \"b\" has no nodes",
                          "t.toml:8:10: a node must be an address string or a table"));
}

TEST(ConfigLoader, HostPatterns) {
  EXPECT_THAT(
      errors_of(R"([[listener]]
listen = "127.0.0.1:80"
[[route]]
host = "*"
pool = "p"
[[route]]
host = "a..example.coop"
pool = "p"
[[route]]
host = "www.*.coop"
pool = "p"
[[route]]
host = "example.coop:443"
pool = "p"
[[route]]
host = ""
pool = "p"
[[route]]
host = "*."
pool = "p"
[pool.p]
nodes = ["10.0.0.1:80"]
)"),
      ElementsAre("t.toml:4:8: host \"*\" must be an exact name or \"*.suffix\" (omit \"host\" to "
                  "match any host)",
                  "t.toml:7:8: host \"a..example.coop\" must be an exact name or \"*.suffix\"",
                  "t.toml:10:8: host \"www.*.coop\" must be an exact name or \"*.suffix\"",
                  "t.toml:13:8: host \"example.coop:443\" must be an exact name or \"*.suffix\"",
                  "t.toml:16:8: host \"\" must be an exact name or \"*.suffix\"",
                  "t.toml:19:8: host \"*.\" must be an exact name or \"*.suffix\""));
}

TEST(ConfigLoader, PathPrefixMustStartWithSlash) {
  EXPECT_THAT(
      errors_of(R"([[listener]]
listen = "127.0.0.1:80"
[[route]]
path_prefix = "api"
pool = "p"
[[route]]
path_prefix = "/a b"
pool = "p"
[[route]]
path_prefix = "/a?b=1"
pool = "p"
[pool.p]
nodes = ["10.0.0.1:80"]
)"),
      ElementsAre("t.toml:4:15: \"path_prefix\" must start with \"/\" (or be \"*\", for OPTIONS *)",
                  "t.toml:7:15: \"path_prefix\" must not contain spaces, \"?\" or \"#\"",
                  "t.toml:10:15: \"path_prefix\" must not contain spaces, \"?\" or \"#\""));
}

TEST(ConfigLoader, EmptyNamesAndAccessLog) {
  EXPECT_THAT(errors_of(R"([server]
access_log = ""
[[listener]]
name = ""
listen = "127.0.0.1:80"
[pool.p]
nodes = [{ address = "10.0.0.1:80", name = "" }]
)"),
              ElementsAre("t.toml:2:14: \"access_log\" must be \"stdout\", \"off\" or a file path",
                          "t.toml:4:8: \"name\" must not be empty",
                          "t.toml:7:44: \"name\" must not be empty"));
}

TEST(ConfigLoader, ReportsAllErrorsInFileOrder) {
  auto errors = errors_of(R"([server]
workers = "two"
[[route]]
pool = "missing"
[[listener]]
listen = "nowhere"
protocol = "udp"
[pool.zz]
nodes = []
[pool.aa]
balance = "fastest"
nodes = ["10.0.0.1:80"]
)");
  EXPECT_THAT(errors,
              ElementsAre("t.toml:2:11: \"workers\" must be an integer",
                          "t.toml:4:8: route names pool \"missing\", which is not defined",
                          "t.toml:6:10: \"listen\": bad address \"nowhere\" (expected \"ip:port\" "
                          "or \"[ipv6]:port\")",
                          "t.toml:7:12: unknown protocol \"udp\" (expected \"http\", \"tcp\", "
                          "\"imap\", \"pop3\" or \"smtp\")",
                          "t.toml:9:9: pool \"zz\" has no nodes",
                          "t.toml:11:11: unknown balance \"fastest\" (expected \"least_loaded\" "
                          "or \"round_robin\")"));
}

TEST(ConfigLoader, ErrorFormat) {
  Error e{"/etc/passeur.toml", 12, 7, "something"};
  EXPECT_EQ(e.str(), "/etc/passeur.toml:12:7: something");
  auto result = load_string("[server]\nworkers = true\n", "x.toml");
  ASSERT_EQ(result.errors.size(), 2u);
  // In file order: the file-wide error is placed at 1:1.
  EXPECT_EQ(result.errors[0].str(), "x.toml:1:1: no [[listener]]: at least one is required");
  EXPECT_EQ(result.errors[1].file, "x.toml");
  EXPECT_EQ(result.errors[1].line, 2);
  EXPECT_EQ(result.errors[1].column, 11);
  EXPECT_EQ(result.errors[1].message, "\"workers\" must be an integer");
}

TEST(ConfigLoader, UnreadableFile) {
  auto missing = load_file("/nonexistent/passeur.toml");
  EXPECT_FALSE(missing.ok());
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0].str(),
            "/nonexistent/passeur.toml:0:0: cannot read: No such file or directory");

  auto directory = load_file("/");
  ASSERT_EQ(directory.errors.size(), 1u);
  EXPECT_EQ(directory.errors[0].str(), "/:0:0: cannot read: Is a directory");
}

TEST(ConfigLoader, LoadFileReportsItsPath) {
  char path[] = "/tmp/passeur-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "[[listener]]\nlisten = \"127.0.0.1:80\"\nbogus = 1\n";
  auto result = load_file(path);
  unlink(path);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].str(),
            std::string(path) + ":3:1: unknown key \"bogus\" in [[listener]]");
}

// A non-ASCII character where toml++ looks for whitespace, here the first of the line after a
// backslash that continues a multi-line string: the value, and the key's error, never undefined
// behaviour (proxy/config/toml.h; found by fuzz/config_fuzzer).
TEST(ConfigLoader, NonAsciiWhereWhitespaceMayStand) {
  const auto errors = errors_of("[server]\nworkers = \"\"\"\\\n\xc2\xa7\"\"\"\n");
  EXPECT_THAT(errors, ::testing::Contains(::testing::AllOf(::testing::StartsWith("t.toml:2:"),
                                                           ::testing::HasSubstr("workers"))));
}

}  // namespace
}  // namespace proxy::config
