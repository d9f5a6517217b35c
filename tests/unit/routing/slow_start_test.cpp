#include "routing/slow_start.h"

#include <gtest/gtest.h>

#include <chrono>

#include "routing/node.h"
#include "tests/unit/routing/fake_clock.h"

namespace routing {
namespace {

using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr uint32_t kFull = Node::kFullRamp;

class SlowStartTest : public ::testing::Test {
 protected:
  testing::FakeClock clock;
  const Clock::time_point up = clock.now();
  const Clock::duration ramp_time = seconds(60);

  uint32_t ramp_after(Clock::duration elapsed) const {
    return slow_start_ramp(up, ramp_time, up + elapsed);
  }
};

TEST_F(SlowStartTest, RampsLinearlyFromOneToFull) {
  EXPECT_EQ(ramp_after(seconds(0)), 1u) << "0%: the floor";
  EXPECT_EQ(ramp_after(seconds(15)), kFull / 4);
  EXPECT_EQ(ramp_after(seconds(30)), kFull / 2);
  EXPECT_EQ(ramp_after(seconds(45)), kFull * 3 / 4);
  EXPECT_EQ(ramp_after(seconds(60)), kFull) << "100%";
  EXPECT_EQ(ramp_after(seconds(3600)), kFull) << "and after";
}

TEST_F(SlowStartTest, RoundsUpAndNeverGoesBelowOne) {
  EXPECT_EQ(ramp_after(nanoseconds(1)), 1u);
  EXPECT_EQ(ramp_after(seconds(30) + nanoseconds(1)), kFull / 2 + 1);
  EXPECT_EQ(ramp_after(seconds(60) - nanoseconds(1)), kFull);
  EXPECT_EQ(slow_start_ramp(up, ramp_time, up - seconds(5)), 1u) << "now before up_since";
}

TEST_F(SlowStartTest, ZeroSlowStartIsFullAtOnce) {
  EXPECT_EQ(slow_start_ramp(up, Clock::duration::zero(), up), kFull);
  EXPECT_FALSE(ramping(up, Clock::duration::zero(), up));
}

TEST_F(SlowStartTest, Ramping) {
  EXPECT_TRUE(ramping(up, ramp_time, up));
  EXPECT_TRUE(ramping(up, ramp_time, up + seconds(59)));
  EXPECT_FALSE(ramping(up, ramp_time, up + seconds(60)));
  EXPECT_FALSE(ramping(up, ramp_time, up + seconds(61)));
}

TEST_F(SlowStartTest, EffectiveWeightScalesTheWeight) {
  EXPECT_EQ(effective_weight(3, up, ramp_time, up), 3u) << "0%: weight/256 of the full";
  EXPECT_EQ(effective_weight(3, up, ramp_time, up + seconds(30)), 3u * kFull / 2);
  EXPECT_EQ(effective_weight(3, up, ramp_time, up + seconds(60)), 3u * kFull);
  EXPECT_EQ(effective_weight(3, up, ramp_time, up + seconds(90)), 3u * kFull);
  // Weight 1, the default: the ramp still has 256 steps to go through.
  EXPECT_EQ(effective_weight(1, up, ramp_time, up + seconds(30)), kFull / 2);
  EXPECT_EQ(effective_weight(0, up, ramp_time, up + seconds(60)), kFull) << "0 counts as 1";
}

TEST_F(SlowStartTest, MatchesTheNode) {
  Node node(NodeSettings{.name = "n", .address = "10.0.0.1:80", .weight = 5});
  EXPECT_EQ(node.ramp(), kFull);
  EXPECT_EQ(node.effective_weight(), 5u * kFull);
  node.set_ramp(ramp_after(seconds(30)));
  EXPECT_EQ(node.effective_weight(), effective_weight(5, up, ramp_time, up + seconds(30)));
  node.set_ramp(0);
  EXPECT_EQ(node.ramp(), 1u) << "clamped";
  node.set_ramp(1000);
  EXPECT_EQ(node.ramp(), kFull);
  node.set_weight(1u << 30);
  EXPECT_EQ(node.effective_weight(), Node::kMaxWeight * kFull) << "no overflow";
}

}  // namespace
}  // namespace routing
