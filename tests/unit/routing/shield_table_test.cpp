#include "routing/shield_table.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/unit/routing/fake_clock.h"

namespace routing {
namespace {

using D = ShieldDimension;

TEST(ShieldTableTest, TenTimesTheCapacityStaysWithinIt) {
  testing::FakeClock clock;
  ShieldTable t(1000);
  for (int i = 0; i < 10'000; ++i) {
    t.touch(D::User, "user" + std::to_string(i), clock.now());
    ASSERT_LE(t.size(), 1000u);
  }
  EXPECT_EQ(t.size(), 1000u);
  EXPECT_EQ(t.evictions(), 9000u);
  EXPECT_EQ(t.entries().size(), 1000u);
  // The most recent stay, the oldest went.
  EXPECT_NE(t.find(D::User, "user9999"), nullptr);
  EXPECT_NE(t.find(D::User, "user9000"), nullptr);
  EXPECT_EQ(t.find(D::User, "user8999"), nullptr);
}

TEST(ShieldTableTest, LeastRecentlyTouchedGoesFirst) {
  testing::FakeClock clock;
  ShieldTable t(2);
  t.touch(D::Address, "a", clock.now());
  t.touch(D::Address, "b", clock.now());
  t.touch(D::Address, "a", clock.now());  // b is now the oldest
  t.touch(D::Address, "c", clock.now());
  EXPECT_NE(t.find(D::Address, "a"), nullptr);
  EXPECT_EQ(t.find(D::Address, "b"), nullptr);
  EXPECT_NE(t.find(D::Address, "c"), nullptr);
}

TEST(ShieldTableTest, BlockedEntriesGetASecondChance) {
  testing::FakeClock clock;
  ShieldTable t(4);
  t.touch(D::Address, "attacker", clock.now()).blocked_until = clock.now() + std::chrono::hours(1);
  for (int i = 0; i < 100; ++i) t.touch(D::User, "u" + std::to_string(i), clock.now());
  EXPECT_EQ(t.size(), 4u);
  ASSERT_NE(t.find(D::Address, "attacker"), nullptr) << "a flood of new keys lifted the block";
  // Once the block has ended it is an ordinary entry again.
  clock.advance(std::chrono::hours(2));
  for (int i = 0; i < 4; ++i) t.touch(D::User, "v" + std::to_string(i), clock.now());
  EXPECT_EQ(t.find(D::Address, "attacker"), nullptr);
}

TEST(ShieldTableTest, AllBlockedStillBounded) {
  testing::FakeClock clock;
  ShieldTable t(3);
  for (int i = 0; i < 30; ++i)
    t.touch(D::Address, std::to_string(i), clock.now()).blocked_until =
        clock.now() + std::chrono::hours(1);
  EXPECT_EQ(t.size(), 3u);
}

TEST(ShieldTableTest, DimensionsAreSeparateKeys) {
  testing::FakeClock clock;
  ShieldTable t(10);
  t.touch(D::User, "de", clock.now()).current = 1;
  t.touch(D::Country, "de", clock.now()).current = 2;
  EXPECT_EQ(t.find(D::User, "de")->current, 1u);
  EXPECT_EQ(t.find(D::Country, "de")->current, 2u);
  EXPECT_EQ(t.find(D::Country, "de")->dimension(), D::Country);
  EXPECT_EQ(t.find(D::Country, "de")->key(), "de");
  EXPECT_TRUE(t.erase(D::User, "de"));
  EXPECT_FALSE(t.erase(D::User, "de"));
  EXPECT_NE(t.find(D::Country, "de"), nullptr);
  EXPECT_EQ(t.clear(), 1u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(ShieldTableTest, ShrinkingEvictsAtOnce) {
  testing::FakeClock clock;
  ShieldTable t(10);
  for (int i = 0; i < 10; ++i) t.touch(D::User, std::to_string(i), clock.now());
  t.set_capacity(3, clock.now());
  EXPECT_EQ(t.size(), 3u);
  EXPECT_NE(t.find(D::User, "9"), nullptr);
}

}  // namespace
}  // namespace routing
