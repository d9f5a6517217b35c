#include "proxy/admin/api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "routing/node_state.h"

namespace proxy::admin {
namespace {

namespace json = boost::json;
using routing::Admin;
using routing::Clock;
using routing::Health;
using ::testing::HasSubstr;

constexpr std::string_view kToken = "0123456789abcdef0123";

Config two_pools() {
  Config c;
  routing::PoolSettings cloud;
  cloud.name = "cloud";
  cloud.nodes = {{"node1", "10.0.0.11:8081", 2}, {"node2", "10.0.0.12:8081", 1}};
  routing::PoolSettings webmail;
  webmail.name = "webmail";
  webmail.balance = routing::Balance::RoundRobin;
  webmail.nodes = {{"10.0.0.11:8080", "10.0.0.11:8080", 1}, {"[::1]:8080", "[::1]:8080", 1}};
  c.pools = {cloud, webmail};
  return c;
}

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() {
    snapshot_ = std::make_shared<const Snapshot>(two_pools(), nullptr);
    ctx_.snapshot = snapshot_;
    ctx_.now = Clock::time_point(std::chrono::hours(1000));
    ctx_.log = [this](std::string_view line) { logged_.emplace_back(line); };
  }

  Response call(std::string_view method, std::string_view target, std::string_view auth = {}) {
    return handle(Request{method, target, auth, "127.0.0.1"}, ctx_);
  }
  static json::value body(const Response& r) {
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body);
  }
  static std::string error_of(const Response& r) {
    return std::string(body(r).at("error").as_string());
  }
  routing::Node& node(size_t pool, size_t i) { return *snapshot_->pools()[pool]->nodes()[i]; }

  std::shared_ptr<const Snapshot> snapshot_;
  Context ctx_;
  std::vector<std::string> logged_;
};

TEST_F(ApiTest, HealthzAnswersOkWithoutToken) {
  ctx_.token = kToken;
  auto r = call("GET", "/healthz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(r.content_type, "text/plain");
  EXPECT_EQ(call("HEAD", "/healthz").status, 200u);
  EXPECT_EQ(call("GET", "/healthz?x=1").status, 200u);
  auto post = call("POST", "/healthz");
  EXPECT_EQ(post.status, 405u);
  ASSERT_EQ(post.headers.size(), 1u);
  EXPECT_EQ(post.headers[0].first, "Allow");
  EXPECT_EQ(post.headers[0].second, "GET, HEAD");
}

TEST_F(ApiTest, PoolsListsEveryPoolAndNode) {
  auto r = call("GET", "/api/v1/pools");
  ASSERT_EQ(r.status, 200u);
  auto v = body(r);
  auto& pools = v.at("pools").as_array();
  ASSERT_EQ(pools.size(), 2u);
  EXPECT_EQ(pools[0].at("name"), "cloud");
  EXPECT_EQ(pools[0].at("balance"), "least_loaded");
  EXPECT_EQ(pools[0].at("usable_nodes"), 2);
  EXPECT_EQ(pools[1].at("balance"), "round_robin");
  auto& n = pools[0].at("nodes").as_array()[0].as_object();
  EXPECT_EQ(n.at("name"), "node1");
  EXPECT_EQ(n.at("address"), "10.0.0.11:8081");
  EXPECT_EQ(n.at("health"), "up");
  EXPECT_EQ(n.at("admin"), "active");
  EXPECT_EQ(n.at("usable"), true);
  EXPECT_EQ(n.at("weight"), 2);
  EXPECT_EQ(n.at("effective_weight").to_number<double>(), 2.0);
  EXPECT_EQ(n.at("in_flight"), 0);
  EXPECT_EQ(n.at("passive_failures"), 0);
  EXPECT_TRUE(n.at("last_change").is_null());
  EXPECT_TRUE(n.at("health_changed_seconds_ago").is_null());
  EXPECT_TRUE(n.at("admin_changed_seconds_ago").is_null());
  EXPECT_EQ(n.at("changes").at("health"), 0);
  EXPECT_EQ(n.at("changes").at("admin"), 0);
  EXPECT_EQ(n.at("changes").at("downs"), 0);
}

TEST_F(ApiTest, PoolsShowsLoadAndLastChange) {
  routing::NodeLease a(&node(0, 1)), b(&node(0, 1));
  routing::set_admin(node(0, 1), Admin::Draining, "operator", ctx_.now - std::chrono::seconds(90));
  routing::mark_down(node(0, 0), "health check failed 3 times in a row",
                     ctx_.now - std::chrono::milliseconds(2500));
  auto v = body(call("GET", "/api/v1/pools"));
  auto& nodes = v.at("pools").at(0).at("nodes").as_array();
  EXPECT_EQ(nodes[0].at("health"), "down");
  EXPECT_EQ(nodes[0].at("usable"), false);
  EXPECT_EQ(nodes[0].at("last_change").at("seconds_ago").to_number<double>(), 2.5);
  EXPECT_EQ(nodes[0].at("last_change").at("cause"), "health check failed 3 times in a row");
  EXPECT_EQ(nodes[0].at("changes").at("downs"), 1);
  EXPECT_EQ(nodes[1].at("admin"), "draining");
  EXPECT_EQ(nodes[1].at("in_flight"), 2);
  EXPECT_EQ(nodes[1].at("admin_changed_seconds_ago").to_number<double>(), 90.0);
  EXPECT_EQ(nodes[1].at("last_change").at("cause"), "operator");
  EXPECT_EQ(v.at("pools").at(0).at("usable_nodes"), 0);
}

TEST_F(ApiTest, SlowStartShowsInEffectiveWeight) {
  node(0, 0).set_ramp(routing::Node::kFullRamp / 4);
  auto v = body(call("GET", "/api/v1/pools/cloud/nodes/node1"));
  EXPECT_EQ(v.at("weight"), 2);
  EXPECT_EQ(v.at("effective_weight").to_number<double>(), 0.5);
  // Numbers are written plainly, for people reading curl's output.
  EXPECT_THAT(call("GET", "/api/v1/pools/cloud/nodes/node1").body,
              HasSubstr("\"effective_weight\": 0.5,"));
}

TEST_F(ApiTest, OnePoolAndOneNode) {
  auto p = body(call("GET", "/api/v1/pools/webmail"));
  EXPECT_EQ(p.at("name"), "webmail");
  EXPECT_EQ(p.at("nodes").as_array().size(), 2u);
  auto n = call("GET", "/api/v1/pools/webmail/nodes/10.0.0.11%3A8080");
  ASSERT_EQ(n.status, 200u);
  EXPECT_EQ(body(n).at("name"), "10.0.0.11:8080");
  EXPECT_EQ(call("GET", "/api/v1/pools/webmail/nodes/10.0.0.11:8080").status, 200u);
  EXPECT_EQ(call("GET", "/api/v1/pools/webmail/nodes/%5B::1%5D:8080").status, 200u);
  EXPECT_EQ(call("GET", "/api/v1/pools/webmail/").status, 200u);
}

TEST_F(ApiTest, DrainMaintenanceReady) {
  auto r = call("POST", "/api/v1/pools/cloud/nodes/node2/drain");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto v = body(r);
  EXPECT_EQ(v.at("pool"), "cloud");
  EXPECT_EQ(v.at("changed"), true);
  EXPECT_EQ(v.at("node").at("name"), "node2");
  EXPECT_EQ(v.at("node").at("admin"), "draining");
  EXPECT_EQ(v.at("node").at("usable"), false);
  EXPECT_EQ(v.at("node").at("last_change").at("cause"), "admin API from 127.0.0.1");
  EXPECT_EQ(node(0, 1).admin(), Admin::Draining);
  EXPECT_FALSE(node(0, 1).usable());
  EXPECT_EQ(node(0, 0).admin(), Admin::Active);  // only that node
  ASSERT_EQ(logged_.size(), 1u);
  EXPECT_EQ(logged_[0],
            "pool \"cloud\" node \"node2\" (10.0.0.12:8081): admin active -> draining, no longer "
            "usable: admin API from 127.0.0.1");

  // Again: nothing changes, nothing is logged.
  v = body(call("POST", "/api/v1/pools/cloud/nodes/node2/drain"));
  EXPECT_EQ(v.at("changed"), false);
  EXPECT_EQ(logged_.size(), 1u);

  v = body(call("POST", "/api/v1/pools/cloud/nodes/node2/maintenance"));
  EXPECT_EQ(v.at("node").at("admin"), "maintenance");
  EXPECT_EQ(node(0, 1).admin(), Admin::Maintenance);

  v = body(call("POST", "/api/v1/pools/cloud/nodes/node2/ready"));
  EXPECT_EQ(v.at("node").at("admin"), "active");
  EXPECT_EQ(v.at("node").at("usable"), true);
  EXPECT_EQ(v.at("node").at("changes").at("admin"), 3);
  EXPECT_TRUE(node(0, 1).usable());
  EXPECT_EQ(logged_.size(), 3u);
}

TEST_F(ApiTest, ReadyKeepsHealth) {
  routing::mark_down(node(0, 0), "check", ctx_.now);
  call("POST", "/api/v1/pools/cloud/nodes/node1/maintenance");
  auto v = body(call("POST", "/api/v1/pools/cloud/nodes/node1/ready"));
  EXPECT_EQ(v.at("node").at("admin"), "active");
  EXPECT_EQ(v.at("node").at("health"), "down");
  EXPECT_EQ(v.at("node").at("usable"), false);
}

TEST_F(ApiTest, UnknownPoolNodeActionOrPath) {
  auto r = call("POST", "/api/v1/pools/x/nodes/node1/drain");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(error_of(r), "no pool \"x\"");
  r = call("POST", "/api/v1/pools/cloud/nodes/node9/drain");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(error_of(r), "no node \"node9\" in pool \"cloud\"");
  r = call("POST", "/api/v1/pools/cloud/nodes/node1/explode");
  EXPECT_EQ(r.status, 404u);
  EXPECT_THAT(error_of(r), HasSubstr("no action \"explode\""));
  r = call("GET", "/api/v1/pools/x");
  EXPECT_EQ(error_of(r), "no pool \"x\"");
  for (auto path : {"/", "/metrics", "/api", "/api/v1", "/api/v2/pools", "/api/v1/pools/cloud/x",
                    "/api/v1/pools/cloud/nodes", "/api/v1/pools/cloud/nodes/node1/drain/x",
                    "/api/v1/pools//", "/api/v1/reload/x"}) {
    r = call("GET", path);
    EXPECT_EQ(r.status, 404u) << path;
    EXPECT_THAT(error_of(r), HasSubstr("no such path")) << path;
    EXPECT_TRUE(r.close);
  }
  EXPECT_EQ(node(0, 0).admin(), Admin::Active);
  EXPECT_TRUE(logged_.empty());
}

TEST_F(ApiTest, WrongMethodIs405) {
  auto r = call("GET", "/api/v1/pools/cloud/nodes/node1/drain");
  EXPECT_EQ(r.status, 405u);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "POST");
  EXPECT_EQ(node(0, 0).admin(), Admin::Active);
  EXPECT_EQ(call("PUT", "/api/v1/pools/cloud/nodes/node1/ready").status, 405u);
  EXPECT_EQ(call("DELETE", "/api/v1/pools").status, 405u);
  EXPECT_EQ(call("POST", "/api/v1/pools").status, 405u);
  EXPECT_EQ(call("POST", "/api/v1/pools/cloud").status, 405u);
  EXPECT_EQ(call("GET", "/api/v1/reload").status, 405u);
  EXPECT_EQ(call("HEAD", "/api/v1/pools").status, 200u);
}

TEST_F(ApiTest, BadPercentEncodingIs400) {
  EXPECT_EQ(call("GET", "/api/v1/pools/%zz").status, 400u);
  EXPECT_EQ(call("GET", "/api/v1/pools/%4").status, 400u);
  EXPECT_EQ(call("GET", "/api/v1/pools/a%00b").status, 400u);
}

TEST_F(ApiTest, TokenRequiredAndChecked) {
  ctx_.token = kToken;
  for (std::string auth :
       {std::string(), std::string("Bearer wrong-token-wrong-token"),
        std::string("Basic ") + std::string(kToken), "Bearer " + std::string(kToken) + "x",
        "Bearer " + std::string(kToken.substr(1))}) {
    auto r = call("POST", "/api/v1/pools/cloud/nodes/node1/drain", auth);
    EXPECT_EQ(r.status, 401u) << auth;
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
    EXPECT_EQ(r.headers[0].second, "Bearer realm=\"passeur\"");
  }
  EXPECT_EQ(node(0, 0).admin(), Admin::Active);
  // Unknown paths answer 401 too: nothing is told without the token.
  EXPECT_EQ(call("GET", "/nothing").status, 401u);
  EXPECT_EQ(logged_.size(), 6u);
  EXPECT_THAT(logged_[0], HasSubstr("refused a request from 127.0.0.1: no token"));
  EXPECT_THAT(logged_[1], HasSubstr("wrong token"));

  auto ok = "Bearer " + std::string(kToken);
  EXPECT_EQ(call("POST", "/api/v1/pools/cloud/nodes/node1/drain", ok).status, 200u);
  EXPECT_EQ(call("GET", "/api/v1/pools", "bearer  " + std::string(kToken)).status, 200u);
  EXPECT_EQ(node(0, 0).admin(), Admin::Draining);
}

TEST_F(ApiTest, NoTokenConfiguredIgnoresAuthorization) {
  EXPECT_EQ(call("GET", "/api/v1/pools", "Bearer anything").status, 200u);
}

TEST_F(ApiTest, Reload) {
  int calls = 0;
  ctx_.reload = [&](std::string& message) {
    ++calls;
    message = "reloaded /etc/passeur.toml";
    return true;
  };
  auto r = call("POST", "/api/v1/reload");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(body(r).at("ok"), true);
  EXPECT_EQ(body(r).at("message"), "reloaded /etc/passeur.toml");
  EXPECT_EQ(calls, 1);

  ctx_.reload = [&](std::string& message) {
    message = "t.toml:3:1: unknown key \"x\" in [server]\nt.toml:9:5: bad address\n";
    return false;
  };
  r = call("POST", "/api/v1/reload");
  ASSERT_EQ(r.status, 422u);
  auto v = body(r);
  EXPECT_EQ(v.at("ok"), false);
  EXPECT_THAT(std::string(v.at("error").as_string()), HasSubstr("reload rejected"));
  ASSERT_EQ(v.at("errors").as_array().size(), 2u);
  EXPECT_EQ(v.at("errors").at(1), "t.toml:9:5: bad address");

  ctx_.reload = [&](std::string&) -> bool { throw std::runtime_error("boom"); };
  r = call("POST", "/api/v1/reload");
  EXPECT_EQ(r.status, 422u);
  EXPECT_EQ(body(r).at("errors").at(0), "boom");

  ctx_.reload = nullptr;
  EXPECT_EQ(call("POST", "/api/v1/reload").status, 503u);
}

TEST_F(ApiTest, NoSnapshotIs503) {
  ctx_.snapshot = nullptr;
  EXPECT_EQ(call("GET", "/api/v1/pools").status, 503u);
  EXPECT_EQ(call("POST", "/api/v1/pools/cloud/nodes/node1/drain").status, 503u);
}

TEST(ApiSerialize, StatusLineHeadersAndBody) {
  Response r = error_response(401, "a bearer token is required");
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"passeur\"");
  std::string out = serialize(r, false, true);
  EXPECT_EQ(out,
            "HTTP/1.1 401 Unauthorized\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Cache-Control: no-store\r\n"
            "WWW-Authenticate: Bearer realm=\"passeur\"\r\n"
            "Content-Length: 44\r\n"
            "Connection: close\r\n\r\n"
            "{\n  \"error\": \"a bearer token is required\"\n}\n");
  Response ok;
  ok.content_type = "text/plain";
  ok.body = "ok\n";
  EXPECT_EQ(serialize(ok, true, false),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Cache-Control: no-store\r\nContent-Length: 3\r\n\r\n");
  Response bad = error_response(422, "x");
  EXPECT_THAT(serialize(bad, false, false), HasSubstr("HTTP/1.1 422 Unprocessable Content\r\n"));
}

TEST(ApiPercentDecode, Segments) {
  EXPECT_EQ(percent_decode("node%201"), "node 1");
  EXPECT_EQ(percent_decode("a%2Fb"), "a/b");
  EXPECT_EQ(percent_decode("plain:80"), "plain:80");
  EXPECT_EQ(percent_decode("%"), std::nullopt);
  EXPECT_EQ(percent_decode("%4"), std::nullopt);
  EXPECT_EQ(percent_decode("%G1"), std::nullopt);
  EXPECT_EQ(percent_decode("%00"), std::nullopt);
}

// A path segment that percent-decodes to bytes that are not UTF-8: the error is still JSON.
TEST_F(ApiTest, ErrorNamingANodeThatIsNotUtf8IsJson) {
  auto r = call("POST", "/api/v1/pools/cloud/nodes/n%de2/drain");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(error_of(r),
            "no node \"n\xef\xbf\xbd"
            "2\" in pool \"cloud\"");
}

}  // namespace
}  // namespace proxy::admin
