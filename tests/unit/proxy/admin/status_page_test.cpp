#include "proxy/admin/status_page.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "proxy/admin/web_request.h"

namespace proxy::admin {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kToken = "0123456789abcdef0123";
constexpr std::string_view kHost = "127.0.0.1:9900";

Config one_pool() {
  Config c;
  routing::PoolSettings cloud;
  cloud.name = "cloud";
  cloud.nodes = {{"node1", "10.0.0.11:8081", 2}, {"node2", "10.0.0.12:8081", 1}};
  c.pools = {cloud};
  return c;
}

std::string header(const Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

// A hidden field's value in the page: <input type="hidden" name="NAME" value="...">, the
// first after `after`.
std::string hidden(const std::string& html, std::string_view name, std::string_view after = {}) {
  size_t from = after.empty() ? 0 : html.find(after);
  const std::string key = "name=\"" + std::string(name) + "\" value=\"";
  size_t at = html.find(key, from);
  if (at == std::string::npos) return "";
  at += key.size();
  return html.substr(at, html.find('"', at) - at);
}

class StatusPageTest : public ::testing::Test {
 protected:
  StatusPageTest() {
    snapshot_ = std::make_shared<const Snapshot>(one_pool(), nullptr);
    ctx_.snapshot = snapshot_;
    ctx_.token = kToken;
    ctx_.now = routing::Clock::time_point(std::chrono::hours(1000));
    ctx_.now_unix = 1'800'000'000;
    ctx_.log = [this](std::string_view line) { logged_.emplace_back(line); };
    ctx_.sessions = &sessions_;
    ctx_.history = &history_;
    ctx_.status = [] {
      StatusSources s;
      s.certificates.push_back(
          {"/etc/c.pem", {"webmail.example.coop"}, 1'800'000'000 + 86400 * 20});
      s.reload.last_message = "started";
      return s;
    };
    history_.sample(ctx_.now, *snapshot_, {});
  }

  Response call(std::string_view method, std::string_view target, std::string_view cookie = {},
                std::string_view body = {}, std::string_view origin = {}) {
    Request r{method, target, "", "192.0.2.7"};
    r.cookie = cookie;
    r.body = body;
    r.origin = origin;
    r.host = kHost;
    return handle(r, ctx_);
  }

  std::string login() {
    auto r = call("POST", "/login", {}, "token=" + std::string(kToken));
    EXPECT_EQ(r.status, 303u);
    std::string c = header(r, "Set-Cookie");
    return c.substr(0, c.find(';'));
  }

  routing::Node& node(size_t i) { return *snapshot_->pools()[0]->nodes()[i]; }

  std::shared_ptr<const Snapshot> snapshot_;
  StatusSessions sessions_;
  StatusHistory history_;
  Context ctx_;
  std::vector<std::string> logged_;
};

TEST_F(StatusPageTest, WithoutTheTokenTheLoginFormAnswers) {
  auto r = call("GET", "/");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_THAT(r.body, HasSubstr("action=\"/login\""));
  EXPECT_THAT(r.body, Not(HasSubstr("node1")));
  EXPECT_EQ(call("GET", "/status.json").status, 401u);
  EXPECT_EQ(call("GET", "/status.json", "passeur_session=forged").status, 401u);
  EXPECT_EQ(call("GET", "/status/page.js").status, 200u);  // no secret in it
}

TEST_F(StatusPageTest, LoginSetsAStrictHttpOnlyCookieWithoutTheToken) {
  auto wrong = call("POST", "/login", {}, "token=nope");
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(header(wrong, "Set-Cookie"), "");
  auto r = call("POST", "/login", {}, "token=" + std::string(kToken));
  ASSERT_EQ(r.status, 303u);
  EXPECT_EQ(header(r, "Location"), "/");
  const std::string c = header(r, "Set-Cookie");
  EXPECT_THAT(c, HasSubstr("HttpOnly"));
  EXPECT_THAT(c, HasSubstr("SameSite=Strict"));
  EXPECT_THAT(c, Not(HasSubstr(std::string(kToken))));
  auto page = call("GET", "/", c.substr(0, c.find(';')));
  EXPECT_EQ(page.status, 200u);
  EXPECT_THAT(page.body, HasSubstr("node1"));
  EXPECT_THAT(page.body, HasSubstr("webmail.example.coop"));
  EXPECT_THAT(page.body, Not(HasSubstr(std::string(kToken))));
  EXPECT_THAT(header(page, "Content-Security-Policy"), HasSubstr("frame-ancestors 'none'"));
  // a login from another site is refused
  EXPECT_EQ(call("POST", "/login", {}, "token=" + std::string(kToken), "http://evil.test").status,
            403u);
}

TEST_F(StatusPageTest, DrainNeedsTheFormsTokenAndTheSameOrigin) {
  const std::string cookie = login();
  const std::string page = call("GET", "/", cookie).body;
  const std::string csrf = hidden(page, "csrf", "value=\"node2\"");
  ASSERT_EQ(csrf.size(), 32u);
  const std::string form = "pool=cloud&node=node2&action=drain&confirm=yes";
  EXPECT_EQ(call("POST", "/status/action", cookie, form).status, 403u);  // no CSRF token
  EXPECT_EQ(
      call("POST", "/status/action", cookie, form + "&csrf=" + csrf, "http://evil.test").status,
      403u);
  // the token of node2's form does not drain node1
  EXPECT_EQ(call("POST", "/status/action", cookie,
                 "pool=cloud&node=node1&action=drain&confirm=yes&csrf=" + csrf)
                .status,
            403u);
  EXPECT_EQ(call("POST", "/status/action", {}, form + "&csrf=" + csrf).status, 403u);
  EXPECT_EQ(node(1).admin(), routing::Admin::Active);
  EXPECT_EQ(node(0).admin(), routing::Admin::Active);

  // without confirm=yes: a confirmation form, nothing changed
  auto ask =
      call("POST", "/status/action", cookie, "pool=cloud&node=node2&action=drain&csrf=" + csrf);
  EXPECT_EQ(ask.status, 200u);
  EXPECT_THAT(ask.body, HasSubstr("name=\"confirm\" value=\"yes\""));
  EXPECT_EQ(node(1).admin(), routing::Admin::Active);

  auto done = call("POST", "/status/action", cookie, form + "&csrf=" + csrf,
                   "http://" + std::string(kHost));
  EXPECT_EQ(done.status, 200u);
  EXPECT_EQ(node(1).admin(), routing::Admin::Draining);
  bool logged = false;
  for (const auto& l : logged_)
    logged = logged || l.find("drain of node \"node2\" in pool \"cloud\" asked by 192.0.2.7") !=
                           std::string::npos;
  EXPECT_TRUE(logged);
}

TEST_F(StatusPageTest, JsonAndHistoryFollowTheNodes) {
  const std::string cookie = login();
  node(0).traffic(0).responses[1].add(5);
  node(0).traffic(0).header_time.observe(std::chrono::milliseconds(3));
  auto r = call("GET", "/status.json", cookie);
  ASSERT_EQ(r.status, 200u);
  auto v = json::parse(r.body);
  auto& row = v.at("pools").at(0).at("nodes").at(0).as_array();
  EXPECT_EQ(row.at(0).as_string(), "node1");
  EXPECT_EQ(row.at(1).as_string(), "up");
  EXPECT_EQ(row.at(8).to_number<int64_t>(), 5);
  EXPECT_EQ(v.at("certificates").at(0).at("days_left").to_number<int64_t>(), 20);
  history_.sample(ctx_.now + std::chrono::seconds(10), *snapshot_, {});
  auto h = json::parse(call("GET", "/status/history.json?after=0", cookie).body);
  EXPECT_EQ(h.at("seq").to_number<int64_t>(), 2);
  auto& rates = h.at("pools").at(0).at(0).at(0).as_array();
  ASSERT_EQ(rates.size(), 1u);
  EXPECT_DOUBLE_EQ(rates.at(0).to_number<double>(), 0.5);
  auto newer = json::parse(call("GET", "/status/history.json?after=2", cookie).body);
  EXPECT_TRUE(newer.at("pools").at(0).at(0).at(0).as_array().empty());
}

TEST_F(StatusPageTest, LogoutEndsTheSession) {
  const std::string cookie = login();
  const std::string csrf = hidden(call("GET", "/", cookie).body, "csrf", "/logout");
  auto out = call("POST", "/logout", cookie, "csrf=" + csrf);
  EXPECT_EQ(out.status, 303u);
  EXPECT_THAT(header(out, "Set-Cookie"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(call("GET", "/", cookie).status, 401u);
}

TEST_F(StatusPageTest, ApiPostFromAnotherSiteIsRefused) {
  Request r{"POST", "/api/v1/pools/cloud/nodes/node1/drain", "Bearer " + std::string(kToken),
            "192.0.2.7"};
  std::string auth = "Bearer " + std::string(kToken);
  r.authorization = auth;
  r.origin = "http://evil.test";
  r.host = kHost;
  EXPECT_EQ(handle(r, ctx_).status, 403u);
  EXPECT_EQ(node(0).admin(), routing::Admin::Active);
}

}  // namespace
}  // namespace proxy::admin
