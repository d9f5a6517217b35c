#include "routing/health_counter.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "routing/node.h"

namespace routing {
namespace {

using T = HealthCounter::Transition;

// Feeds "S" (success) and "F" (failure) results and writes what happened after each:
// "." nothing, "U" went up, "D" went down.
std::string run(HealthCounter& c, std::string_view results) {
  std::string out;
  for (char r : results) {
    switch (c.observe(r == 'S')) {
      case T::None:
        out += '.';
        break;
      case T::WentUp:
        out += 'U';
        break;
      case T::WentDown:
        out += 'D';
        break;
    }
  }
  return out;
}

TEST(HealthCounterTest, UpStaysUpOnSuccesses) {
  HealthCounter c(2, 3, Health::Up);
  EXPECT_EQ(c.state(), Health::Up);
  EXPECT_EQ(run(c, "SSSSS"), ".....");
  EXPECT_EQ(c.state(), Health::Up);
  EXPECT_FALSE(c.changing());
}

TEST(HealthCounterTest, UpGoesDownAfterFallFailuresInARow) {
  HealthCounter c(2, 3, Health::Up);
  EXPECT_EQ(run(c, "FF"), "..");
  EXPECT_EQ(c.state(), Health::Up) << "two failures are not three";
  EXPECT_EQ(run(c, "F"), "D");
  EXPECT_EQ(c.state(), Health::Down);
  EXPECT_EQ(run(c, "FFFF"), "....") << "down stays down, no second WentDown";
}

TEST(HealthCounterTest, DownGoesUpAfterRiseSuccessesInARow) {
  HealthCounter c(2, 3, Health::Down);
  EXPECT_EQ(c.state(), Health::Down);
  EXPECT_EQ(run(c, "S"), ".");
  EXPECT_EQ(c.state(), Health::Down);
  EXPECT_EQ(run(c, "S"), "U");
  EXPECT_EQ(c.state(), Health::Up);
  EXPECT_EQ(run(c, "SSS"), "...");
}

TEST(HealthCounterTest, ASuccessBreaksARunOfFailures) {
  HealthCounter c(2, 3, Health::Up);
  EXPECT_EQ(run(c, "FFSFFSFF"), "........") << "never three in a row";
  EXPECT_EQ(c.state(), Health::Up);
  EXPECT_EQ(run(c, "F"), "D");
}

TEST(HealthCounterTest, AFailureBreaksARunOfSuccesses) {
  HealthCounter c(3, 2, Health::Down);
  EXPECT_EQ(run(c, "SSFSSFSS"), "........");
  EXPECT_EQ(c.state(), Health::Down);
  EXPECT_EQ(run(c, "S"), "U");
}

TEST(HealthCounterTest, FlappingNodeStaysWhereItIs) {
  HealthCounter up(2, 2, Health::Up);
  EXPECT_EQ(run(up, "FSFSFSFSFSFS"), "............");
  EXPECT_EQ(up.state(), Health::Up);

  HealthCounter down(2, 2, Health::Down);
  EXPECT_EQ(run(down, "SFSFSFSFSFSF"), "............");
  EXPECT_EQ(down.state(), Health::Down);
}

TEST(HealthCounterTest, FullCycle) {
  HealthCounter c(2, 3, Health::Up);
  EXPECT_EQ(run(c, "SFFFSFSSFFSFFF"), "...D...U.....D");
}

TEST(HealthCounterTest, ChangingBetweenThresholdsOnly) {
  HealthCounter c(3, 3, Health::Up);
  EXPECT_FALSE(c.changing());
  c.observe(false);
  EXPECT_TRUE(c.changing()) << "up with a failure: re-check fast";
  c.observe(false);
  EXPECT_TRUE(c.changing());
  c.observe(true);
  EXPECT_FALSE(c.changing()) << "run broken: back to the normal interval";
  c.observe(false);
  c.observe(false);
  EXPECT_EQ(c.observe(false), T::WentDown);
  EXPECT_FALSE(c.changing()) << "settled down";
  c.observe(false);
  EXPECT_FALSE(c.changing());
  c.observe(true);
  EXPECT_TRUE(c.changing()) << "down with a success: re-check fast";
  c.observe(true);
  EXPECT_TRUE(c.changing());
  EXPECT_EQ(c.observe(true), T::WentUp);
  EXPECT_FALSE(c.changing()) << "settled up";
}

TEST(HealthCounterTest, RunLengthsAreVisible) {
  HealthCounter c(3, 3, Health::Up);
  c.observe(false);
  c.observe(false);
  EXPECT_EQ(c.failures(), 2u);
  EXPECT_EQ(c.successes(), 0u);
  c.observe(true);
  EXPECT_EQ(c.failures(), 0u);
  EXPECT_EQ(c.successes(), 0u) << "successes of an up node are not a run";
}

TEST(HealthCounterTest, RiseAndFallOfOneActAtOnce) {
  HealthCounter c(1, 1, Health::Up);
  EXPECT_EQ(run(c, "FSFFSS"), "DUD.U.");
  EXPECT_FALSE(c.changing()) << "no room between thresholds";
}

TEST(HealthCounterTest, ZeroCountsAsOne) {
  HealthCounter c(0, 0, Health::Up);
  EXPECT_EQ(c.rise(), 1u);
  EXPECT_EQ(c.fall(), 1u);
  EXPECT_EQ(run(c, "FS"), "DU");
}

TEST(HealthCounterTest, StartingCountsAsUp) {
  HealthCounter c(2, 2, Health::Starting);
  EXPECT_EQ(c.state(), Health::Up);
  EXPECT_EQ(run(c, "FF"), ".D");
}

TEST(HealthCounterTest, ResetTakesTheGivenStateAndForgetsTheRun) {
  HealthCounter c(2, 3, Health::Up);
  c.observe(false);
  c.observe(false);
  c.reset(Health::Down);
  EXPECT_EQ(c.state(), Health::Down);
  EXPECT_FALSE(c.changing());
  EXPECT_EQ(run(c, "SS"), ".U") << "a node marked down elsewhere needs `rise` successes";
  c.observe(false);
  c.reset(Health::Up);
  EXPECT_EQ(run(c, "FF"), "..") << "the failure before the reset is forgotten";
}

TEST(HealthCounterTest, ProbationGoesDownOnTheNextFailure) {
  HealthCounter c(2, 3, Health::Down);
  c.probation();
  EXPECT_EQ(c.state(), Health::Up);
  EXPECT_TRUE(c.changing()) << "checked at the fast interval";
  EXPECT_EQ(run(c, "F"), "D");

  HealthCounter ok(2, 3, Health::Down);
  ok.probation();
  EXPECT_EQ(run(ok, "S"), ".");
  EXPECT_FALSE(ok.changing()) << "one success confirms it";
  EXPECT_EQ(run(ok, "FF"), "..");
}

}  // namespace
}  // namespace routing
