#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proxy/config/config_loader.h"
#include "tests/unit/proxy/config/load_text.h"

namespace proxy::config {
namespace {

using ::testing::ElementsAre;

TEST(HeaderRulesConfig, ListenerAndRouteRules) {
  Config c = load_ok(R"toml([[listener]]
listen = "127.0.0.1:443"
response_headers = [
  { set = "Strict-Transport-Security", value = "max-age=63072000" },
  { set = "X-Content-Type-Options", value = "nosniff" },
]
[[route]]
pool = "p"
[[route]]
host = "cloud.example.coop"
pool = "p"
request_headers = [
  { replace = "Destination", pattern = '^https://(.*)$', with = 'http://\1' },
  { set = "X-Real-IP", value = "$remote_addr" },
  { set = "Host", value = "cloud.internal" },
  { remove = "X-Debug" },
]
[[route.response_headers]]
add = "Referrer-Policy"
value = "same-origin"
[pool.p]
nodes = ["10.0.0.1:80"]
)toml");
  ASSERT_EQ(c.listeners.size(), 1u);
  const auto& l = c.listeners[0].header_rules;
  EXPECT_TRUE(l.request.empty());
  ASSERT_EQ(l.response.size(), 2u);
  EXPECT_EQ(l.response[0].action, http::RuleAction::Set);
  EXPECT_EQ(l.response[0].name, "Strict-Transport-Security");
  EXPECT_EQ(l.response[0].value.text(), "max-age=63072000");
  ASSERT_EQ(c.route_headers.size(), 2u);
  EXPECT_TRUE(c.route_headers[0].request.empty());
  const auto& r = c.route_headers[1];
  ASSERT_EQ(r.request.size(), 4u);
  EXPECT_EQ(r.request[0].action, http::RuleAction::Replace);
  ASSERT_TRUE(r.request[0].pattern);
  EXPECT_EQ(r.request[0].value.text(), "http://\\1");
  EXPECT_EQ(r.request[1].value.text(), "$remote_addr");
  EXPECT_EQ(r.request[3].action, http::RuleAction::Remove);
  ASSERT_EQ(r.response.size(), 1u);
  EXPECT_EQ(r.response[0].action, http::RuleAction::Add);
}

TEST(HeaderRulesConfig, BadRegexIsReportedAtItsString) {
  EXPECT_THAT(
      errors_of(R"toml([[listener]]
listen = "127.0.0.1:80"
[[route]]
pool = "p"
request_headers = [
  { replace = "Destination", pattern = '^(https://.*$', with = 'http://\1' },
]
[pool.p]
nodes = ["10.0.0.1:80"]
)toml"),
      ElementsAre(::testing::StartsWith("t.toml:6:40: \"pattern\": bad regular expression: ")));
}

TEST(HeaderRulesConfig, RefusedRules) {
  EXPECT_THAT(
      errors_of(R"toml([[listener]]
listen = "127.0.0.1:80"
request_headers = [{ set = "Transfer-Encoding", value = "gzip" }]
[[route]]
pool = "p"
request_headers = [
  { remove = "Host" },
  { set = "X-A" },
  { add = "X-B", value = "a", pattern = "b" },
  { set = "X-C", remove = "X-C", value = "1" },
  { set = "Bad Name", value = "1" },
  { set = "X-D", value = "$nope" },
  { replace = "X-E", pattern = "(a)", with = '\2' },
  { set = "X-F", value = "$1" },
  "X-G",
]
response_headers = [
  { remove = "Content-Length" },
  { set = "Connection", value = "close" },
  { add = "Expect", value = "ok" },
]
[pool.p]
nodes = ["10.0.0.1:80"]
)toml"),
      ElementsAre(
          "t.toml:3:28: a header rule cannot change \"Transfer-Encoding\": it is a hop-by-hop or "
          "framing field, which Passeur writes itself",
          "t.toml:7:14: a header rule cannot change \"Host\": it must be sent exactly once: only "
          "a \"set\" rule may change it",
          "t.toml:8:3: missing key \"value\" in a rule of request_headers",
          "t.toml:9:41: \"pattern\" does not apply to a \"add\" rule",
          "t.toml:10:3: a header rule needs exactly one of \"set\", \"add\", \"remove\" or "
          "\"replace\", naming the header field (in a rule of request_headers)",
          "t.toml:11:11: \"Bad Name\" is not a header field name",
          "t.toml:12:26: \"value\": unknown variable $nope (known: $remote_addr, $host, "
          "$http_host, $scheme; $$ for a literal $) (at character 1 of the string)",
          "t.toml:13:46: \"with\": capture 2 is named but the pattern has 1 group (at character "
          "1 of the string)",
          "t.toml:14:26: \"value\": captures ($1, \\1) are allowed only in the \"with\" of a "
          "replace rule (at character 1 of the string)",
          "t.toml:15:3: each rule of \"request_headers\" must be a table such as { remove = "
          "\"X-Name\" }",
          "t.toml:18:14: a header rule cannot change \"Content-Length\": it is a hop-by-hop or "
          "framing field, which Passeur writes itself",
          "t.toml:19:11: a header rule cannot change \"Connection\": it is a hop-by-hop or "
          "framing field, which Passeur writes itself"));
}

TEST(HeaderRulesConfig, OnlyOnHttpListenersAndValidHost) {
  EXPECT_THAT(errors_of(R"toml([[listener]]
listen = "127.0.0.1:25"
protocol = "tcp"
pool = "p"
request_headers = [{ remove = "X-A" }]
[[route]]
pool = "p"
request_headers = [{ set = "Host", value = "a b" }]
[pool.p]
nodes = ["10.0.0.1:80"]
)toml"),
              ElementsAre("t.toml:5:19: \"request_headers\" applies only to a listener with "
                          "protocol = \"http\"",
                          "t.toml:8:44: \"a b\" is not a valid Host"));
}

TEST(HeaderRulesConfig, OptionsStarRoute) {
  Config c = load_ok(R"toml([[listener]]
listen = "127.0.0.1:80"
[[route]]
host = "cloud.example.coop"
path_prefix = "*"
pool = "p"
[pool.p]
nodes = ["10.0.0.1:80"]
)toml");
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].path_prefix, "*");
}

}  // namespace
}  // namespace proxy::config
