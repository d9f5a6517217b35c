// The login shield's families in /metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proxy/metrics/exposition.h"
#include "tests/unit/routing/fake_clock.h"

namespace proxy::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(LoginShieldMetrics, CountsByDimensionAndTheTable) {
  routing::testing::FakeClock clock;
  routing::LoginShieldSettings settings;
  settings.table_size = 4;
  settings.thresholds = {};
  settings.thresholds[0] = {1, 3};  // address
  settings.thresholds[2] = {0, 5};  // user
  routing::LoginShield shield(settings, clock);
  routing::LoginSource src{.client = boost::asio::ip::make_address("192.0.2.7"), .user = "alice"};
  for (int i = 0; i < 3; ++i) {
    shield.before_login(src);  // Allow, then Delay twice
    shield.record(src, false);
  }
  shield.before_login(src);  // Refuse
  shield.record({.client = boost::asio::ip::make_address("192.0.2.8"), .user = "bob"}, true);
  for (const char* a : {"192.0.2.9", "192.0.2.10", "192.0.2.11"})
    shield.record({.client = boost::asio::ip::make_address(a)}, false);

  auto snap = std::make_shared<const Snapshot>(Config{}, nullptr, 1);
  std::string t = render(Sources{.snapshot = snap, .login_shield = &shield});
  EXPECT_THAT(t, HasSubstr("passeur_login_shield_failures_total{dimension=\"address\"} 6\n"));
  EXPECT_THAT(t, HasSubstr("passeur_login_shield_failures_total{dimension=\"user\"} 3\n"));
  EXPECT_THAT(t, HasSubstr("passeur_login_shield_failures_total{dimension=\"network\"} 0\n"));
  EXPECT_THAT(t, HasSubstr("passeur_login_shield_delays_total{dimension=\"address\"} 2\n"));
  EXPECT_THAT(t, HasSubstr("passeur_login_shield_refusals_total{dimension=\"address\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("passeur_login_shield_successes_total 1\n"));
  EXPECT_THAT(t, HasSubstr("passeur_login_shield_entries 4\n"));
  EXPECT_THAT(t, HasSubstr("passeur_login_shield_table_size 4\n"));
  EXPECT_THAT(t, HasSubstr("passeur_login_shield_evictions_total 1\n"));
  EXPECT_THAT(t, HasSubstr("# TYPE passeur_login_shield_failures_total counter\n"));
  EXPECT_THAT(render(Sources{.snapshot = snap}), Not(HasSubstr("passeur_login_shield")));
}

}  // namespace
}  // namespace proxy::metrics
