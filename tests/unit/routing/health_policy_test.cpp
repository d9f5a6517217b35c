#include "routing/health_policy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "routing/health_counter.h"
#include "routing/random.h"

namespace routing {
namespace {

using std::chrono::milliseconds;

// Always draws the same end of the range, and records the bounds asked for.
class EdgeRandom final : public Random {
 public:
  explicit EdgeRandom(bool high) : high_(high) {}
  uint32_t below(uint32_t bound) override {
    bounds.push_back(bound);
    return high_ ? bound - 1 : 0;
  }
  std::vector<uint32_t> bounds;

 private:
  bool high_;
};

HealthPolicy policy(uint32_t jitter = 0) {
  HealthPolicy p;
  p.rise = 2;
  p.fall = 3;
  p.interval = milliseconds(2'000);
  p.fast_interval = milliseconds(500);
  p.down_interval = milliseconds(10'000);
  p.jitter_percent = jitter;
  return p;
}

TEST(HealthPolicyTest, NormalIntervalWhileSettledUp) {
  HealthCounter c(2, 3, Health::Up);
  EdgeRandom r(false);
  EXPECT_EQ(next_check_delay(policy(), c, r), milliseconds(2'000));
  EXPECT_TRUE(r.bounds.empty()) << "no jitter, no draw";
}

TEST(HealthPolicyTest, FastIntervalWhileChanging) {
  EdgeRandom r(false);
  HealthCounter up(2, 3, Health::Up);
  up.observe(false);
  EXPECT_EQ(next_check_delay(policy(), up, r), milliseconds(500));
  HealthCounter down(2, 3, Health::Down);
  down.observe(true);
  EXPECT_EQ(next_check_delay(policy(), down, r), milliseconds(500));
}

TEST(HealthPolicyTest, DownIntervalWhileSettledDown) {
  EdgeRandom r(false);
  HealthCounter c(2, 3, Health::Down);
  EXPECT_EQ(next_check_delay(policy(), c, r), milliseconds(10'000));
}

TEST(HealthPolicyTest, ZeroIntervalsFallBackToTheInterval) {
  EdgeRandom r(false);
  HealthPolicy p = policy();
  p.fast_interval = milliseconds(0);
  p.down_interval = milliseconds(0);
  HealthCounter changing(2, 3, Health::Up);
  changing.observe(false);
  EXPECT_EQ(next_check_delay(p, changing, r), milliseconds(2'000));
  HealthCounter down(2, 3, Health::Down);
  EXPECT_EQ(next_check_delay(p, down, r), milliseconds(2'000));
}

TEST(HealthPolicyTest, JitterStaysWithinItsShare) {
  HealthCounter c(2, 3, Health::Up);
  EdgeRandom low(false), high(true);
  EXPECT_EQ(next_check_delay(policy(10), c, low), milliseconds(1'800));
  EXPECT_EQ(next_check_delay(policy(10), c, high), milliseconds(2'200));
  EXPECT_EQ(low.bounds, std::vector<uint32_t>{401});

  FastRandom random(42);
  for (int i = 0; i < 1000; ++i) {
    auto d = next_check_delay(policy(10), c, random);
    ASSERT_GE(d, milliseconds(1'800));
    ASSERT_LE(d, milliseconds(2'200));
  }
}

TEST(HealthPolicyTest, JitterIsCappedAtHalf) {
  HealthCounter c(2, 3, Health::Up);
  EdgeRandom low(false);
  EXPECT_EQ(next_check_delay(policy(100), c, low), milliseconds(1'000))
      << "never a zero delay: no probe storm";
}

TEST(HealthPolicyTest, FirstCheckIsSpreadOverOneInterval) {
  EdgeRandom low(false), high(true);
  EXPECT_EQ(first_check_delay(policy(), low), milliseconds(0));
  EXPECT_EQ(first_check_delay(policy(), high), milliseconds(1'999));
}

}  // namespace
}  // namespace routing
