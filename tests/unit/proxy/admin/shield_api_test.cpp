// The login shield's admin API and `passeur ctl shield`'s formatting, with a shield whose
// entries the test records directly.
#include "proxy/admin/shield_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "proxy/admin/ctl.h"
#include "tests/unit/routing/fake_clock.h"

namespace proxy::admin {
namespace {

namespace json = boost::json;
namespace ip = boost::asio::ip;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

routing::LoginShieldSettings settings() {
  routing::LoginShieldSettings s;
  s.thresholds = {};
  s.thresholds[0] = {2, 4};  // address
  s.thresholds[2] = {0, 3};  // user
  return s;
}

class ShieldApiTest : public ::testing::Test {
 protected:
  ShieldApiTest() : shield_(settings(), clock_) {
    ctx_.now = clock_.now();
    ctx_.token = "0123456789abcdef0123";
    ctx_.login_shield = &shield_;
    ctx_.log = [this](std::string_view line) { logged_.emplace_back(line); };
  }

  Response call(std::string_view method, std::string_view target, bool with_token = true) {
    return handle(
        Request{method, target, with_token ? "Bearer 0123456789abcdef0123" : "", "192.0.2.200"},
        ctx_);
  }
  void fail(const char* address, std::string_view user, int times) {
    for (int i = 0; i < times; ++i)
      shield_.record({.client = ip::make_address(address), .user = user}, false);
  }

  routing::testing::FakeClock clock_;
  routing::LoginShield shield_;
  Context ctx_;
  std::vector<std::string> logged_;
};

TEST_F(ShieldApiTest, ListsEntriesMostFailuresFirst) {
  fail("192.0.2.1", "alice", 1);
  fail("192.0.2.2", "", 2);
  fail("192.0.2.3", "", 4);
  auto r = call("GET", "/api/v1/shield");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v.at("enabled").as_bool(), true);
  EXPECT_EQ(v.at("entries").to_number<int>(), 4);
  EXPECT_EQ(v.at("table_size").to_number<int>(), 100000);
  auto& list = v.at("list").as_array();
  ASSERT_EQ(list.size(), 4u);
  auto& first = list[0].as_object();
  EXPECT_EQ(first.at("dimension").as_string(), "address");
  EXPECT_EQ(first.at("key").as_string(), "192.0.2.3");
  EXPECT_EQ(first.at("failures").to_number<int>(), 4);
  EXPECT_EQ(first.at("state").as_string(), "refused");
  EXPECT_EQ(first.at("seconds_left").to_number<double>(), 600.0);
  EXPECT_EQ(first.at("until").as_string().size(), 20u);
  auto& second = list[1].as_object();
  EXPECT_EQ(second.at("state").as_string(), "delayed");
  EXPECT_EQ(second.at("delay_seconds").to_number<double>(), 1.0);
  EXPECT_EQ(list[3].as_object().at("state").as_string(), "counting");

  auto limited = json::parse(call("GET", "/api/v1/shield?limit=1").body).as_object();
  EXPECT_EQ(limited.at("list").as_array().size(), 1u);
  EXPECT_EQ(call("GET", "/api/v1/shield?limit=0").status, 400u);
  EXPECT_EQ(call("GET", "/api/v1/shield?limit=x").status, 400u);

  std::string error;
  std::string table = format_shield_table(r.body, error);
  EXPECT_THAT(table, HasSubstr("login shield enabled: 4 entries of 100000, 0 evicted\n"));
  EXPECT_THAT(table, HasSubstr("DIMENSION  KEY        FAILURES  STATE     DETAIL\n"));
  EXPECT_THAT(table, HasSubstr("address    192.0.2.3  4         refused   until "));
  EXPECT_THAT(table, HasSubstr("(10m00s left)"));
  EXPECT_THAT(table, HasSubstr("address    192.0.2.2  2         delayed   answers delayed 1s\n"));
  EXPECT_THAT(table, HasSubstr("user       alice      1         counting  -\n"));
}

TEST_F(ShieldApiTest, ClearsOneEntryOrAllAndLogsWho) {
  fail("192.0.2.3", "bob", 4);
  auto r = call("POST", "/api/v1/shield/address/192.0.2.3/clear");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(json::parse(r.body).at("key").as_string(), "192.0.2.3");
  EXPECT_EQ(shield_.before_login({.client = ip::make_address("192.0.2.3")}).kind,
            routing::ShieldVerdict::Kind::Allow);
  EXPECT_EQ(call("POST", "/api/v1/shield/address/192.0.2.3/clear").status, 404u);
  EXPECT_EQ(call("POST", "/api/v1/shield/address/bob/clear").status, 400u);
  EXPECT_EQ(call("POST", "/api/v1/shield/host/bob/clear").status, 404u);
  EXPECT_EQ(call("GET", "/api/v1/shield/address/192.0.2.3/clear").status, 405u);
  EXPECT_EQ(call("POST", "/api/v1/shield").status, 405u);
  EXPECT_EQ(call("POST", "/api/v1/shield/network/192.0.2.0%2F24/clear").status, 404u)
      << "the network dimension is off";
  EXPECT_EQ(call("POST", "/api/v1/shield/user/BOB/clear").status, 200u);
  fail("192.0.2.4", "carol", 1);
  auto all = call("POST", "/api/v1/shield/clear");
  ASSERT_EQ(all.status, 200u);
  EXPECT_EQ(json::parse(all.body).at("cleared").to_number<int>(), 2);
  EXPECT_EQ(shield_.stats().entries, 0u);
  EXPECT_THAT(logged_, ElementsAre("admin API: login shield entry address 192.0.2.3 cleared by "
                                   "192.0.2.200",
                                   "admin API: login shield entry user bob cleared by 192.0.2.200",
                                   "admin API: login shield cleared (2 entries) by 192.0.2.200"));
}

TEST_F(ShieldApiTest, TokenRulesAsEverywhere) {
  EXPECT_EQ(call("GET", "/api/v1/shield", false).status, 401u);
  EXPECT_EQ(call("POST", "/api/v1/shield/clear", false).status, 401u);
}

TEST_F(ShieldApiTest, WithoutAShield) {
  ctx_.login_shield = nullptr;
  EXPECT_EQ(call("GET", "/api/v1/shield").status, 503u);
}

TEST(CtlShield, ClearPaths) {
  std::string error;
  EXPECT_EQ(shield_clear_path({"all"}, error), "/api/v1/shield/clear");
  EXPECT_EQ(shield_clear_path({"192.0.2.7"}, error), "/api/v1/shield/address/192.0.2.7/clear");
  EXPECT_EQ(shield_clear_path({"2001:db8::1"}, error), "/api/v1/shield/address/2001:db8::1/clear");
  EXPECT_EQ(shield_clear_path({"alice@example.coop"}, error),
            "/api/v1/shield/user/alice%40example.coop/clear");
  EXPECT_EQ(shield_clear_path({"network", "192.0.2.0/24"}, error),
            "/api/v1/shield/network/192.0.2.0%2F24/clear");
  EXPECT_EQ(shield_clear_path({"country", "CN"}, error), "/api/v1/shield/country/CN/clear");
  EXPECT_EQ(shield_clear_path({"host", "x"}, error), "");
  EXPECT_THAT(error, HasSubstr("unknown dimension \"host\""));
  EXPECT_EQ(shield_clear_path({}, error), "");
}

TEST(CtlShield, EmptyAndBadAnswers) {
  std::string error;
  EXPECT_EQ(format_shield_table(R"({"enabled":true,"entries":0,"table_size":10,"evictions":0,)"
                                R"("list":[]})",
                                error),
            "login shield enabled: 0 entries of 10, 0 evicted\nno key has failed logins\n");
  EXPECT_EQ(format_shield_table("{}", error), "");
  EXPECT_EQ(error, "the answer holds no login shield entries");
}

}  // namespace
}  // namespace proxy::admin
