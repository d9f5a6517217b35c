#include "routing/login_shield.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/routing/fake_clock.h"

namespace routing {
namespace {

namespace ip = boost::asio::ip;
using D = ShieldDimension;
using Kind = ShieldVerdict::Kind;
using std::chrono::minutes;
using std::chrono::seconds;

ip::address addr(const char* s) {
  return ip::make_address(s);
}

LoginSource from(const char* address, std::string_view user = "", Country country = Country()) {
  return LoginSource{.client = addr(address), .user = user, .country = country};
}

// Only the address dimension counts unless a test turns others on.
LoginShieldSettings address_only() {
  LoginShieldSettings s;
  s.window = minutes(10);
  s.block = minutes(5);
  s.first_delay = seconds(1);
  s.max_delay = seconds(4);
  s.thresholds = {};
  s.thresholds[0] = {3, 6};
  return s;
}

class LoginShieldTest : public ::testing::Test {
 protected:
  testing::FakeClock clock;
  std::vector<std::string> logged;
  LoginShield::Log log = [this](std::string_view l) { logged.emplace_back(l); };

  void fail(LoginShield& s, const LoginSource& src, int times) {
    for (int i = 0; i < times; ++i) s.record(src, false);
  }
};

TEST_F(LoginShieldTest, SlowsDownThenRefusesOneAddress) {
  LoginShield s(address_only(), clock, log);
  auto attacker = from("192.0.2.7", "alice");
  fail(s, attacker, 2);
  EXPECT_EQ(s.before_login(attacker).kind, Kind::Allow);
  fail(s, attacker, 1);
  auto v = s.before_login(attacker);
  EXPECT_EQ(v.kind, Kind::Delay);
  EXPECT_EQ(v.delay, seconds(1));
  EXPECT_EQ(v.dimension, D::Address);
  fail(s, attacker, 1);
  EXPECT_EQ(s.before_login(attacker).delay, seconds(2)) << "the delay doubles";
  fail(s, attacker, 1);
  EXPECT_EQ(s.before_login(attacker).delay, seconds(4));
  fail(s, attacker, 1);  // the 6th: refused
  v = s.before_login(attacker);
  EXPECT_EQ(v.kind, Kind::Refuse);
  EXPECT_FALSE(v.allowed());
  EXPECT_EQ(v.until, clock.now() + minutes(5));
  EXPECT_EQ(v.dimension, D::Address);
  // Another address of another network logs in normally.
  EXPECT_EQ(s.before_login(from("198.51.100.1", "alice")).kind, Kind::Allow);

  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[0], "login shield: address 192.0.2.7 delayed after 3 failed logins (1 s)");
  EXPECT_EQ(logged[1], "login shield: address 192.0.2.7 refused for 300 s after 6 failed logins");
  auto st = s.stats();
  EXPECT_EQ(st.failures[0], 6u);
  EXPECT_EQ(st.delays[0], 3u);
  EXPECT_EQ(st.refusals[0], 1u);
  EXPECT_EQ(st.failures[1] + st.failures[2] + st.failures[3], 0u) << "dimensions turned off";
}

TEST_F(LoginShieldTest, DelayIsCapped) {
  auto cfg = address_only();
  cfg.thresholds[0] = {1, 0};  // never refused
  LoginShield s(cfg, clock);
  auto src = from("192.0.2.7");
  fail(s, src, 40);
  EXPECT_EQ(s.before_login(src).delay, seconds(4));
}

TEST_F(LoginShieldTest, BlockEndsButTheNextFailureBlocksAgain) {
  LoginShield s(address_only(), clock, log);
  auto src = from("192.0.2.7");
  fail(s, src, 6);
  clock.advance(minutes(5) - seconds(1));
  EXPECT_EQ(s.before_login(src).kind, Kind::Refuse);
  clock.advance(seconds(1));
  auto v = s.before_login(src);
  EXPECT_EQ(v.kind, Kind::Delay) << "still 6 failures in the window";
  EXPECT_EQ(v.delay, seconds(4));
  fail(s, src, 1);
  EXPECT_EQ(s.before_login(src).kind, Kind::Refuse);
}

TEST_F(LoginShieldTest, FailuresFadeOverTheNextWindow) {
  LoginShield s(address_only(), clock);
  auto src = from("192.0.2.7");
  fail(s, src, 4);
  clock.advance(minutes(9));
  EXPECT_EQ(s.before_login(src).delay, seconds(2)) << "4 failures within the window";
  clock.advance(minutes(1));  // the bucket rolls: the 4 count fully at its start
  EXPECT_EQ(s.top(10).at(0).failures, 4u);
  clock.advance(minutes(5));  // half of the previous bucket overlaps: ceil(4 * 0.5) = 2
  EXPECT_EQ(s.top(10).at(0).failures, 2u);
  EXPECT_EQ(s.before_login(src).kind, Kind::Allow);
  clock.advance(minutes(5));  // two windows after the failures: nothing left
  EXPECT_TRUE(s.top(10).empty());
  // New failures start from zero.
  fail(s, src, 2);
  EXPECT_EQ(s.before_login(src).kind, Kind::Allow);
}

TEST_F(LoginShieldTest, FailuresSpreadOverTimeAddUpWithinTheWindow) {
  LoginShield s(address_only(), clock);
  auto src = from("192.0.2.7");
  for (int i = 0; i < 6; ++i) {
    fail(s, src, 1);
    clock.advance(minutes(1));
  }
  EXPECT_EQ(s.before_login(src).kind, Kind::Refuse) << "6 failures in 6 minutes";
}

TEST_F(LoginShieldTest, SlowFailuresNeverAddUp) {
  LoginShield s(address_only(), clock);
  auto src = from("192.0.2.7");
  for (int i = 0; i < 50; ++i) {
    fail(s, src, 1);
    clock.advance(minutes(20));
  }
  EXPECT_EQ(s.before_login(src).kind, Kind::Allow);
}

TEST_F(LoginShieldTest, SuccessResetsAddressAndUserButNotNetwork) {
  auto cfg = address_only();
  cfg.thresholds[static_cast<size_t>(D::Network)] = {3, 0};
  cfg.thresholds[static_cast<size_t>(D::User)] = {3, 0};
  LoginShield s(cfg, clock);
  auto member = from("192.0.2.7", "alice");
  fail(s, member, 3);
  EXPECT_EQ(s.before_login(member).kind, Kind::Delay);
  s.record(member, true);
  auto v = s.before_login(member);
  EXPECT_EQ(v.kind, Kind::Delay) << "the network's failures stay";
  EXPECT_EQ(v.dimension, D::Network);
  for (const auto& e : s.top(10)) EXPECT_EQ(e.dimension, D::Network) << e.key;
  EXPECT_EQ(s.before_login(from("203.0.113.1", "alice")).kind, Kind::Allow) << "user reset";
  EXPECT_EQ(s.stats().successes, 1u);
}

TEST_F(LoginShieldTest, Ipv4NetworksAreSlash24) {
  auto cfg = address_only();
  cfg.thresholds = {};
  cfg.thresholds[static_cast<size_t>(D::Network)] = {0, 10};
  LoginShield s(cfg, clock);
  for (int i = 1; i <= 10; ++i) s.record(from(("192.0.2." + std::to_string(i)).c_str()), false);
  auto v = s.before_login(from("192.0.2.200"));
  EXPECT_EQ(v.kind, Kind::Refuse);
  EXPECT_EQ(v.dimension, D::Network);
  EXPECT_EQ(s.before_login(from("192.0.3.1")).kind, Kind::Allow);
  EXPECT_EQ(s.top(1).at(0).key, "192.0.2.0/24");
}

TEST_F(LoginShieldTest, Ipv6NetworksAreSlash64) {
  auto cfg = address_only();
  cfg.thresholds = {};
  cfg.thresholds[static_cast<size_t>(D::Network)] = {0, 3};
  LoginShield s(cfg, clock);
  s.record(from("2001:db8:0:1::1"), false);
  s.record(from("2001:db8:0:1:ffff::2"), false);
  s.record(from("2001:db8:0:1:1:2:3:4"), false);
  EXPECT_EQ(s.before_login(from("2001:db8:0:1::99")).kind, Kind::Refuse);
  EXPECT_EQ(s.before_login(from("2001:db8:0:2::1")).kind, Kind::Allow);
  EXPECT_EQ(s.top(1).at(0).key, "2001:db8:0:1::/64");
}

TEST_F(LoginShieldTest, MappedIpv6IsTheIpv4Address) {
  LoginShield s(address_only(), clock);
  fail(s, from("::ffff:192.0.2.7"), 6);
  EXPECT_EQ(s.before_login(from("192.0.2.7")).kind, Kind::Refuse);
  EXPECT_EQ(s.top(10).at(0).key, "192.0.2.7");
}

TEST_F(LoginShieldTest, UserCountedFromEveryAddress) {
  auto cfg = address_only();
  cfg.thresholds = {};
  cfg.thresholds[static_cast<size_t>(D::User)] = {2, 4};
  LoginShield s(cfg, clock);
  s.record(from("192.0.2.1", "Alice"), false);
  s.record(from("198.51.100.1", "alice"), false);
  EXPECT_EQ(s.before_login(from("203.0.113.1", "ALICE")).kind, Kind::Delay);
  EXPECT_EQ(s.before_login(from("203.0.113.1", "bob")).kind, Kind::Allow);
  EXPECT_EQ(s.before_login(from("203.0.113.1")).kind, Kind::Allow) << "user not known yet";
  s.record(from("203.0.113.2", "alice"), false);
  s.record(from("203.0.113.3", "alice"), false);
  auto v = s.before_login(from("203.0.113.4", "alice"));
  EXPECT_EQ(v.kind, Kind::Refuse);
  EXPECT_EQ(v.dimension, D::User);
  // A failure without a user name counts for no user.
  s.record(from("203.0.113.5"), false);
  EXPECT_EQ(s.stats().failures[static_cast<size_t>(D::User)], 4u);
}

TEST_F(LoginShieldTest, CountryDimension) {
  auto cfg = address_only();
  cfg.thresholds = {};
  cfg.thresholds[static_cast<size_t>(D::Country)] = {2, 3};
  LoginShield s(cfg, clock);
  auto cn = *Country::from_code("CN");
  s.record(from("192.0.2.1", "a", cn), false);
  s.record(from("198.51.100.1", "b", cn), false);
  auto v = s.before_login(from("203.0.113.1", "c", cn));
  EXPECT_EQ(v.kind, Kind::Delay);
  EXPECT_EQ(v.dimension, D::Country);
  s.record(from("203.0.113.1", "c", cn), false);
  EXPECT_EQ(s.before_login(from("203.0.113.9", "d", cn)).kind, Kind::Refuse);
  EXPECT_EQ(s.before_login(from("203.0.113.9", "d", *Country::from_code("DE"))).kind, Kind::Allow);
  // An unknown country is no key.
  for (int i = 0; i < 5; ++i) s.record(from("203.0.113.10"), false);
  EXPECT_EQ(s.before_login(from("203.0.113.10")).kind, Kind::Allow);
  ASSERT_EQ(s.top(10).size(), 1u);
  EXPECT_EQ(s.top(10)[0].key, "CN");
}

TEST_F(LoginShieldTest, TheLongestDelayAndLatestBlockDecide) {
  auto cfg = address_only();
  cfg.thresholds[static_cast<size_t>(D::User)] = {1, 0};
  LoginShield s(cfg, clock);
  fail(s, from("192.0.2.1", "alice"), 3);  // address: 1 s; user: 4 s (capped)
  auto v = s.before_login(from("192.0.2.1", "alice"));
  EXPECT_EQ(v.kind, Kind::Delay);
  EXPECT_EQ(v.delay, seconds(4));
  EXPECT_EQ(v.dimension, D::User);
  EXPECT_EQ(s.stats().delays[static_cast<size_t>(D::User)], 1u);
}

TEST_F(LoginShieldTest, TrustedClientsAnnounceTheRealAddress) {
  auto cfg = address_only();
  cfg.trusted_clients = {*parse_cidr("10.0.0.5")};
  LoginShield s(cfg, clock);
  auto webmail = addr("10.0.0.5");
  for (int i = 0; i < 6; ++i) {
    auto client = s.client_address(webmail, addr("203.0.113.66"));
    ASSERT_EQ(client, addr("203.0.113.66"));
    s.record(LoginSource{.client = client, .user = "victim"}, false);
  }
  // The guesser is refused; another member using the same webmail is not.
  EXPECT_EQ(s.before_login({.client = s.client_address(webmail, addr("203.0.113.66"))}).kind,
            Kind::Refuse);
  EXPECT_EQ(s.before_login({.client = s.client_address(webmail, addr("198.51.100.4"))}).kind,
            Kind::Allow);
  // The webmail itself announcing nothing is not counted by address.
  EXPECT_EQ(s.client_address(webmail, std::nullopt), std::nullopt);
  // An untrusted source cannot pick the address it is counted as.
  EXPECT_EQ(s.client_address(addr("203.0.113.66"), addr("198.51.100.4")), addr("203.0.113.66"));
}

TEST_F(LoginShieldTest, DisabledAllowsAndCountsNothing) {
  auto cfg = address_only();
  cfg.enabled = false;
  LoginShield s(cfg, clock);
  fail(s, from("192.0.2.7"), 100);
  EXPECT_EQ(s.before_login(from("192.0.2.7")).kind, Kind::Allow);
  EXPECT_EQ(s.stats().entries, 0u);
  EXPECT_FALSE(s.enabled());
}

TEST_F(LoginShieldTest, ReloadKeepsTheEntriesAndAppliesNewThresholds) {
  LoginShield s(address_only(), clock);
  auto src = from("192.0.2.7");
  fail(s, src, 2);
  EXPECT_EQ(s.before_login(src).kind, Kind::Allow);
  auto cfg = address_only();
  cfg.thresholds[0] = {2, 3};
  s.configure(cfg);
  EXPECT_EQ(s.before_login(src).kind, Kind::Delay) << "the 2 failures were kept";
  fail(s, src, 1);
  EXPECT_EQ(s.before_login(src).kind, Kind::Refuse);
  cfg.table_size = 1;
  s.configure(cfg);
  EXPECT_EQ(s.stats().capacity, 1u);
}

TEST_F(LoginShieldTest, TableStaysBoundedUnderTenTimesItsSize) {
  auto cfg = address_only();
  cfg.thresholds[static_cast<size_t>(D::Network)] = {10, 50};
  cfg.thresholds[static_cast<size_t>(D::User)] = {5, 30};
  cfg.table_size = 1000;
  LoginShield s(cfg, clock);
  // 10,000 entries' worth: distinct addresses in distinct networks, distinct users.
  for (int i = 0; i < 3334; ++i) {
    std::string a = "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1";
    std::string u = "user" + std::to_string(i);
    s.record(LoginSource{.client = addr(a.c_str()), .user = u}, false);
    ASSERT_LE(s.stats().entries, 1000u);
  }
  auto st = s.stats();
  EXPECT_EQ(st.entries, 1000u);
  EXPECT_EQ(st.evictions, 3u * 3334u - 1000u);
}

TEST_F(LoginShieldTest, TopListsTheMostFailuresFirstAndClears) {
  auto cfg = address_only();
  cfg.thresholds[static_cast<size_t>(D::User)] = {0, 4};
  LoginShield s(cfg, clock);
  fail(s, from("192.0.2.1", "alice"), 1);
  fail(s, from("192.0.2.2", "alice"), 3);
  fail(s, from("192.0.2.3"), 6);
  auto top = s.top(10);
  ASSERT_EQ(top.size(), 4u);
  EXPECT_EQ(top[0].key, "192.0.2.3");
  EXPECT_EQ(top[0].state, ShieldEntryView::State::Refused);
  EXPECT_EQ(top[0].until, clock.now() + minutes(5));
  EXPECT_EQ(top[1].key, "alice");
  EXPECT_EQ(top[1].dimension, D::User);
  EXPECT_EQ(top[1].state, ShieldEntryView::State::Refused);
  EXPECT_EQ(top[2].key, "192.0.2.2");
  EXPECT_EQ(top[2].state, ShieldEntryView::State::Delayed);
  EXPECT_EQ(top[2].delay, seconds(1));
  EXPECT_EQ(top[3].state, ShieldEntryView::State::Counting);
  EXPECT_EQ(s.top(2).size(), 2u);
  EXPECT_EQ(s.top(2)[1].key, "alice");

  EXPECT_EQ(s.clear(D::Address, "::ffff:192.0.2.3"), true);
  EXPECT_EQ(s.clear(D::Address, "192.0.2.3"), false);
  EXPECT_EQ(s.clear(D::Address, "not an address"), std::nullopt);
  EXPECT_EQ(s.before_login(from("192.0.2.3")).kind, Kind::Allow);
  EXPECT_EQ(s.clear(D::User, "ALICE"), true);
  EXPECT_EQ(s.before_login(from("203.0.113.1", "alice")).kind, Kind::Allow);
  EXPECT_EQ(s.clear_all(), 2u);
  EXPECT_TRUE(s.top(10).empty());
}

TEST_F(LoginShieldTest, ConcurrentCallersSmokeTest) {
  auto cfg = address_only();
  cfg.thresholds[static_cast<size_t>(D::Network)] = {10, 50};
  cfg.thresholds[static_cast<size_t>(D::User)] = {5, 30};
  cfg.table_size = 200;
  LoginShield s(cfg, clock);
  constexpr int kThreads = 4, kRounds = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&s, t] {
      for (int i = 0; i < kRounds; ++i) {
        std::string a = "10.0." + std::to_string((i * 7 + t) % 100) + "." + std::to_string(t);
        std::string u = "u" + std::to_string(i % 300);
        LoginSource src{.client = ip::make_address(a), .user = u};
        s.before_login(src);
        s.record(src, i % 10 == 0);
        if (i % 1000 == 0) s.top(5);
      }
    });
  }
  for (auto& th : threads) th.join();
  auto st = s.stats();
  EXPECT_LE(st.entries, 200u);
  EXPECT_EQ(st.successes, static_cast<uint64_t>(kThreads * kRounds / 10));
  EXPECT_EQ(st.failures[0], static_cast<uint64_t>(kThreads * kRounds * 9 / 10));
}

}  // namespace
}  // namespace routing
