#include "proxy/http/affinity_cookie.h"

#include <gtest/gtest.h>

#include <set>

#include "proxy/http/header_rewrite.h"
#include "routing/node_state.h"

namespace proxy::http {
namespace {

using namespace std::chrono_literals;

RequestHead parse_req(std::string_view text) {
  RequestHead h;
  EXPECT_EQ(parse_request_head(text, 65536, h), HeadStatus::Complete) << text;
  return h;
}

ResponseHead parse_res(std::string_view text) {
  ResponseHead h;
  EXPECT_EQ(parse_response_head(text, 65536, h), HeadStatus::Complete) << text;
  return h;
}

bool is_hex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

TEST(AffinityCookie, ValueIsShortOpaqueAndStable) {
  const std::string v = affinity_cookie_value("cloud", "node1");
  EXPECT_EQ(v.size(), 16u);
  EXPECT_TRUE(is_hex(v)) << v;
  EXPECT_TRUE(valid_cookie_value(v));
  EXPECT_EQ(v, affinity_cookie_value("cloud", "node1"));
  // Pool and node names are kept apart: ("ab", "c") is not ("a", "bc").
  EXPECT_NE(affinity_cookie_value("ab", "c"), affinity_cookie_value("a", "bc"));
  std::set<std::string> values;
  for (auto pool : {"cloud", "webmail"})
    for (auto node : {"node1", "node2", "10.0.0.11:8081"})
      values.insert(affinity_cookie_value(pool, node));
  EXPECT_EQ(values.size(), 6u);
  // Never the address, even when the node is named after it.
  EXPECT_EQ(affinity_cookie_value("cloud", "10.0.0.11:8081").find("10.0.0"), std::string::npos);
}

TEST(AffinityCookie, NamesAndValues) {
  EXPECT_TRUE(valid_cookie_name("PASSEUR_NODE"));
  EXPECT_TRUE(valid_cookie_name("SERVERID"));
  EXPECT_FALSE(valid_cookie_name(""));
  EXPECT_FALSE(valid_cookie_name("a b"));
  EXPECT_FALSE(valid_cookie_name("a=b"));
  EXPECT_FALSE(valid_cookie_name("a;"));
  EXPECT_TRUE(valid_cookie_value("s1"));
  EXPECT_FALSE(valid_cookie_value(""));
  EXPECT_FALSE(valid_cookie_value("a b"));
  EXPECT_FALSE(valid_cookie_value("a,b"));
  EXPECT_FALSE(valid_cookie_value("\"a\""));
  EXPECT_FALSE(valid_cookie_value(std::string(65, 'a')));
}

TEST(AffinityCookie, FindsTheCookieInAField) {
  EXPECT_EQ(find_cookie("PASSEUR_NODE=abc", "PASSEUR_NODE"), "abc");
  EXPECT_EQ(find_cookie("a=1; PASSEUR_NODE=abc; b=2", "PASSEUR_NODE"), "abc");
  EXPECT_EQ(find_cookie("a=1;PASSEUR_NODE=\"abc\"", "PASSEUR_NODE"), "abc");
  EXPECT_EQ(find_cookie("a=1; PASSEUR_NODE=", "PASSEUR_NODE"), "");
  EXPECT_EQ(find_cookie("a=1; XPASSEUR_NODE=abc", "PASSEUR_NODE"), std::nullopt);
  EXPECT_EQ(find_cookie("passeur_node=abc", "PASSEUR_NODE"), std::nullopt);  // names are exact
  EXPECT_EQ(find_cookie("", "PASSEUR_NODE"), std::nullopt);
  EXPECT_EQ(find_cookie("PASSEUR_NODE=first; PASSEUR_NODE=second", "PASSEUR_NODE"), "first");
}

TEST(AffinityCookie, RemovesOnlyItsOwnCookie) {
  EXPECT_EQ(without_cookie("a=1; PASSEUR_NODE=abc; b=2", "PASSEUR_NODE"), "a=1; b=2");
  EXPECT_EQ(without_cookie("PASSEUR_NODE=abc", "PASSEUR_NODE"), "");
  EXPECT_EQ(without_cookie("roundcube_sessid=xyz;PASSEUR_NODE=abc", "PASSEUR_NODE"),
            "roundcube_sessid=xyz");
  EXPECT_EQ(without_cookie("a=\"q; r\"", "PASSEUR_NODE"), "a=\"q; r\"");
}

TEST(AffinityCookie, RequestHeadLosesTheCookieOnTheWayToTheNode) {
  RequestHead req = parse_req(
      "GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1; PASSEUR_NODE=abc\r\nCookie: PASSEUR_NODE=x\r\n"
      "Cookie: c=3\r\n\r\n");
  std::string out;
  build_request_head(req,
                     RequestRewrite{.target = req.target,
                                    .client_ip = "127.0.0.1",
                                    .proto = "http",
                                    .strip_cookie = "PASSEUR_NODE"},
                     out);
  EXPECT_NE(out.find("Cookie: a=1\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Cookie: c=3\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("PASSEUR_NODE"), std::string::npos) << out;
  // Without affinity the fields go as sent.
  out.clear();
  build_request_head(
      req, RequestRewrite{.target = req.target, .client_ip = "127.0.0.1", .proto = "http"}, out);
  EXPECT_NE(out.find("Cookie: a=1; PASSEUR_NODE=abc\r\n"), std::string::npos) << out;
}

TEST(AffinityCookie, SetCookieLine) {
  std::string out;
  append_set_cookie(out, "PASSEUR_NODE", "0123abcd", false);
  EXPECT_EQ(out, "Set-Cookie: PASSEUR_NODE=0123abcd; Path=/; HttpOnly; SameSite=Lax\r\n");
  out.clear();
  append_set_cookie(out, "SRV", "s1", true);
  EXPECT_EQ(out, "Set-Cookie: SRV=s1; Path=/; HttpOnly; SameSite=Lax; Secure\r\n");
}

routing::PoolSettings cookie_pool() {
  routing::PoolSettings p;
  p.name = "webmail";
  p.affinity = routing::Affinity::Cookie;
  for (auto name : {"node1", "node2"}) {
    routing::NodeSettings n;
    n.name = name;
    n.address = "10.0.0.1:80";
    n.cookie = affinity_cookie_value(p.name, n.name);
    p.nodes.push_back(n);
  }
  return p;
}

TEST(AffinityCookie, ChoiceFollowsTheNodeState) {
  routing::PoolSettings ps = cookie_pool();
  ps.health.drain_timeout = 10min;
  routing::Pool pool(ps, nullptr);
  routing::Node& n2 = *pool.nodes()[1];
  const auto now = routing::Clock::time_point(std::chrono::hours(100));
  const std::string text =
      "GET / HTTP/1.1\r\nHost: h\r\nCookie: x=1; PASSEUR_NODE=" + n2.settings().cookie + "\r\n\r\n";
  RequestHead req = parse_req(text);
  CookieChoice c = choose_by_cookie(req, pool, now);
  EXPECT_EQ(c.sent, n2.settings().cookie);
  EXPECT_EQ(c.node, &n2);
  EXPECT_FALSE(sets_cookie(c, n2));
  EXPECT_TRUE(sets_cookie(c, *pool.nodes()[0]));

  routing::set_admin(n2, routing::Admin::Draining, "test", now);
  EXPECT_EQ(choose_by_cookie(req, pool, now + 1min).node, &n2);
  // Past the drain timeout its browsers move too.
  EXPECT_EQ(choose_by_cookie(req, pool, now + 11min).node, nullptr);
  routing::set_admin(n2, routing::Admin::Maintenance, "test", now);
  EXPECT_EQ(choose_by_cookie(req, pool, now).node, nullptr);
  routing::set_admin(n2, routing::Admin::Active, "test", now);
  routing::set_health(n2, routing::Health::Down, "test", now);
  CookieChoice down = choose_by_cookie(req, pool, now);
  EXPECT_EQ(down.node, nullptr);
  EXPECT_EQ(down.sent, n2.settings().cookie);  // the answer sets the new node's value

  RequestHead none = parse_req("GET / HTTP/1.1\r\nHost: h\r\nCookie: x=1\r\n\r\n");
  CookieChoice c0 = choose_by_cookie(none, pool, now);
  EXPECT_EQ(c0.sent, "");
  EXPECT_EQ(c0.node, nullptr);
  EXPECT_TRUE(sets_cookie(c0, n2));
  RequestHead forged =
      parse_req("GET / HTTP/1.1\r\nHost: h\r\nCookie: PASSEUR_NODE=10.0.0.1\r\n\r\n");
  EXPECT_EQ(choose_by_cookie(forged, pool, now).node, nullptr);
}

TEST(AffinityCookie, ResponseHeadersKeepSharedCachesOut) {
  routing::Pool pool(cookie_pool(), nullptr);
  const routing::Node& n = *pool.nodes()[0];
  std::string out;
  append_affinity_headers(out, parse_res("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                          "PASSEUR_NODE", n, true);
  EXPECT_EQ(out, "Set-Cookie: PASSEUR_NODE=" + n.settings().cookie +
                     "; Path=/; HttpOnly; SameSite=Lax; Secure\r\nCache-Control: private\r\n");
  out.clear();
  append_affinity_headers(
      out, parse_res("HTTP/1.1 200 OK\r\nCache-Control: max-age=0, No-Store\r\n\r\n"),
      "PASSEUR_NODE", n, false);
  EXPECT_EQ(out.find("Cache-Control"), std::string::npos) << out;
  out.clear();
  append_affinity_headers(out, parse_res("HTTP/1.1 200 OK\r\nCache-Control: public\r\n\r\n"),
                          "PASSEUR_NODE", n, false);
  EXPECT_NE(out.find("Cache-Control: private\r\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace proxy::http
