#include "routing/node_state.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "routing/health_counter.h"
#include "routing/health_policy.h"
#include "routing/node.h"
#include "routing/pool.h"
#include "routing/settings.h"
#include "tests/unit/routing/fake_clock.h"

namespace routing {
namespace {

using std::chrono::seconds;

constexpr uint32_t kFull = Node::kFullRamp;

NodeSettings settings(int i, uint32_t weight = 1) {
  return NodeSettings{.name = "node" + std::to_string(i),
                      .address = "10.0.0." + std::to_string(i) + ":8081",
                      .weight = weight};
}

class NodeStateTest : public ::testing::Test {
 protected:
  testing::FakeClock clock;
  Node node{settings(1, 2)};
};

// ---------------------------------------------------------------------------------------------
// The predicate

TEST_F(NodeStateTest, UsableForEveryHealthAndAdminCombination) {
  struct Case {
    Health health;
    Admin admin;
    bool usable;
  };
  const Case cases[] = {
      {Health::Down, Admin::Active, false},       {Health::Down, Admin::Draining, false},
      {Health::Down, Admin::Maintenance, false},  {Health::Starting, Admin::Active, true},
      {Health::Starting, Admin::Draining, false}, {Health::Starting, Admin::Maintenance, false},
      {Health::Up, Admin::Active, true},          {Health::Up, Admin::Draining, false},
      {Health::Up, Admin::Maintenance, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.health)) + "/" + std::string(to_string(c.admin)));
    // Through the raw setters and through the named transitions: same answer.
    node.set_health(c.health);
    node.set_admin(c.admin);
    EXPECT_EQ(node.usable(), c.usable);
    EXPECT_EQ(StateChange::usable(c.health, c.admin), c.usable);

    Node other(settings(2));
    set_health(other, c.health, "test", clock.now());
    set_admin(other, c.admin, "test", clock.now());
    EXPECT_EQ(other.usable(), c.usable);
    EXPECT_EQ(read_state(other).usable, c.usable);
  }
}

TEST_F(NodeStateTest, NamesOfStates) {
  EXPECT_EQ(to_string(Health::Down), "down");
  EXPECT_EQ(to_string(Health::Starting), "starting");
  EXPECT_EQ(to_string(Health::Up), "up");
  EXPECT_EQ(to_string(Admin::Active), "active");
  EXPECT_EQ(to_string(Admin::Draining), "draining");
  EXPECT_EQ(to_string(Admin::Maintenance), "maintenance");
}

// ---------------------------------------------------------------------------------------------
// Transitions: cause, count, time

TEST_F(NodeStateTest, FreshNodeHasNoHistory) {
  NodeStateView v = read_state(node);
  EXPECT_EQ(v.health, Health::Up);
  EXPECT_EQ(v.admin, Admin::Active);
  EXPECT_EQ(v.health_changes, 0u);
  EXPECT_EQ(v.admin_changes, 0u);
  EXPECT_EQ(v.downs, 0u);
  EXPECT_FALSE(v.health_since);
  EXPECT_FALSE(v.admin_since);
  EXPECT_EQ(v.last_cause, "");
  EXPECT_EQ(v.weight, 2u);
  EXPECT_EQ(v.effective_weight, 2 * kFull);
}

TEST_F(NodeStateTest, HealthChangeReportsCauseAndIsCounted) {
  auto c = set_health(node, Health::Down, "health check failed 3 times in a row", clock.now());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->node, "node1");
  EXPECT_EQ(c->address, "10.0.0.1:8081");
  EXPECT_EQ(c->health_from, Health::Up);
  EXPECT_EQ(c->health_to, Health::Down);
  EXPECT_EQ(c->admin_from, Admin::Active);
  EXPECT_EQ(c->admin_to, Admin::Active);
  EXPECT_TRUE(c->health_changed());
  EXPECT_FALSE(c->admin_changed());
  EXPECT_TRUE(c->usable_before());
  EXPECT_FALSE(c->usable_after());
  EXPECT_EQ(c->cause, "health check failed 3 times in a row");
  EXPECT_EQ(c->at, clock.now());

  NodeStateView v = read_state(node);
  EXPECT_EQ(v.health, Health::Down);
  EXPECT_EQ(v.health_changes, 1u);
  EXPECT_EQ(v.downs, 1u);
  EXPECT_EQ(v.admin_changes, 0u);
  EXPECT_EQ(v.health_since, clock.now());
  EXPECT_EQ(v.last_cause, "health check failed 3 times in a row");
}

TEST_F(NodeStateTest, NoChangeNoReportNoCount) {
  EXPECT_FALSE(set_health(node, Health::Up, "already up", clock.now()));
  EXPECT_FALSE(set_admin(node, Admin::Active, "already active", clock.now()));
  ASSERT_TRUE(mark_down(node, "first", clock.now()));
  clock.advance(seconds(5));
  EXPECT_FALSE(mark_down(node, "second", clock.now()));
  NodeStateView v = read_state(node);
  EXPECT_EQ(v.health_changes, 1u);
  EXPECT_EQ(v.downs, 1u);
  EXPECT_EQ(v.last_cause, "first");
  EXPECT_EQ(v.health_since, clock.now() - seconds(5)) << "time of the change, not of the no-op";
}

TEST_F(NodeStateTest, CountsEveryChange) {
  mark_down(node, "a", clock.now());
  mark_up(node, Clock::duration::zero(), "b", clock.now());
  mark_down(node, "c", clock.now());
  set_admin(node, Admin::Draining, "d", clock.now());
  set_admin(node, Admin::Maintenance, "e", clock.now());
  clock.advance(seconds(1));
  set_admin(node, Admin::Active, "f", clock.now());
  NodeStateView v = read_state(node);
  EXPECT_EQ(v.health_changes, 3u);
  EXPECT_EQ(v.downs, 2u);
  EXPECT_EQ(v.admin_changes, 3u);
  EXPECT_EQ(v.admin_since, clock.now());
  EXPECT_EQ(v.health_since, clock.now() - seconds(1));
  EXPECT_EQ(v.last_cause, "f") << "last change of either axis";
}

TEST_F(NodeStateTest, AdminChangeReportsBothAxes) {
  mark_down(node, "down", clock.now());
  auto c = set_admin(node, Admin::Draining, "api: drain from 127.0.0.1", clock.now());
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->health_changed());
  EXPECT_TRUE(c->admin_changed());
  EXPECT_EQ(c->health_from, Health::Down);
  EXPECT_EQ(c->health_to, Health::Down);
  EXPECT_EQ(c->admin_from, Admin::Active);
  EXPECT_EQ(c->admin_to, Admin::Draining);
  EXPECT_FALSE(c->usable_before());
  EXPECT_FALSE(c->usable_after());
}

TEST_F(NodeStateTest, DescribeMakesALogLine) {
  auto down = mark_down(node, "health check failed 3 times in a row: HTTP 503", clock.now());
  ASSERT_TRUE(down);
  EXPECT_EQ(describe(*down, "cloud"),
            "pool \"cloud\" node \"node1\" (10.0.0.1:8081): health up -> down, no longer usable: "
            "health check failed 3 times in a row: HTTP 503");
  auto drain = set_admin(node, Admin::Draining, "operator", clock.now());
  ASSERT_TRUE(drain);
  EXPECT_EQ(describe(*drain, ""),
            "node \"node1\" (10.0.0.1:8081): admin active -> draining: operator");
  auto back = mark_up(node, Clock::duration::zero(), "check", clock.now());
  ASSERT_TRUE(back);
  EXPECT_EQ(describe(*back, "cloud"),
            "pool \"cloud\" node \"node1\" (10.0.0.1:8081): health down -> up: check")
      << "still draining: not usable either side";
}

// ---------------------------------------------------------------------------------------------
// Slow start

TEST_F(NodeStateTest, MarkUpWithoutSlowStartIsFullAtOnce) {
  mark_down(node, "down", clock.now());
  auto c = mark_up(node, Clock::duration::zero(), "up", clock.now());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->health_to, Health::Up);
  EXPECT_EQ(node.ramp(), kFull);
  EXPECT_FALSE(mark_up(node, seconds(60), "again", clock.now())) << "already up";
}

TEST_F(NodeStateTest, SlowStartRampsThenGoesUp) {
  const auto slow = seconds(60);
  mark_down(node, "down", clock.now());
  auto c = mark_up(node, slow, "health check passed", clock.now());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->health_to, Health::Starting);
  EXPECT_TRUE(c->usable_after()) << "starting nodes take work";
  EXPECT_EQ(node.ramp(), 1u);
  EXPECT_EQ(node.effective_weight(), 2u) << "0%: 2/256 of the full weight";
  EXPECT_FALSE(mark_up(node, slow, "again", clock.now())) << "does not restart the ramp";

  clock.advance(seconds(30));
  EXPECT_FALSE(advance_slow_start(node, slow, clock.now()));
  EXPECT_EQ(node.health(), Health::Starting);
  EXPECT_EQ(node.ramp(), kFull / 2);
  EXPECT_EQ(node.effective_weight(), 2 * kFull / 2) << "50%";

  clock.advance(seconds(15));
  EXPECT_FALSE(advance_slow_start(node, slow, clock.now()));
  EXPECT_EQ(node.ramp(), kFull * 3 / 4);

  clock.advance(seconds(15));
  auto done = advance_slow_start(node, slow, clock.now());
  ASSERT_TRUE(done) << "100%";
  EXPECT_EQ(done->health_from, Health::Starting);
  EXPECT_EQ(done->health_to, Health::Up);
  EXPECT_EQ(done->cause, "slow start done (60000 ms)");
  EXPECT_EQ(node.ramp(), kFull);
  EXPECT_EQ(node.effective_weight(), 2 * kFull);

  clock.advance(seconds(15));
  EXPECT_FALSE(advance_slow_start(node, slow, clock.now())) << "after: nothing to do";
  EXPECT_EQ(node.effective_weight(), 2 * kFull);
  EXPECT_EQ(read_state(node).health_changes, 3u) << "down, starting, up";
}

TEST_F(NodeStateTest, GoingDownWhileStartingRestoresTheRampForNextTime) {
  mark_down(node, "down", clock.now());
  mark_up(node, seconds(60), "up", clock.now());
  clock.advance(seconds(10));
  advance_slow_start(node, seconds(60), clock.now());
  EXPECT_LT(node.ramp(), kFull);
  mark_down(node, "down again", clock.now());
  EXPECT_EQ(node.ramp(), kFull);
  mark_up(node, Clock::duration::zero(), "back, no slow start now", clock.now());
  EXPECT_EQ(node.effective_weight(), 2 * kFull);
}

TEST_F(NodeStateTest, ReloadWeightChangeKeepsTheRamp) {
  mark_down(node, "down", clock.now());
  mark_up(node, seconds(60), "up", clock.now());
  clock.advance(seconds(30));
  advance_slow_start(node, seconds(60), clock.now());
  node.set_weight(4);  // what Pool does for a kept node
  EXPECT_EQ(node.effective_weight(), 4 * kFull / 2);
}

// ---------------------------------------------------------------------------------------------
// Active checks

HealthPolicy check_policy(Clock::duration slow_start = Clock::duration::zero()) {
  HealthPolicy p;
  p.rise = 2;
  p.fall = 3;
  p.slow_start = std::chrono::duration_cast<Millis>(slow_start);
  p.passive_failures = 3;
  return p;
}

TEST_F(NodeStateTest, ChecksTakeANodeDownAndBackUp) {
  const HealthPolicy p = check_policy();
  HealthCounter counter(p.rise, p.fall, node.health());
  EXPECT_FALSE(apply_check(node, counter, false, "connection refused", p, clock.now()));
  EXPECT_FALSE(apply_check(node, counter, false, "connection refused", p, clock.now()));
  EXPECT_TRUE(node.usable());
  auto down = apply_check(node, counter, false, "connection refused", p, clock.now());
  ASSERT_TRUE(down);
  EXPECT_EQ(down->health_to, Health::Down);
  EXPECT_EQ(down->cause, "health check failed 3 times in a row: connection refused");
  EXPECT_FALSE(node.usable());

  EXPECT_FALSE(apply_check(node, counter, true, "HTTP 200", p, clock.now()));
  auto up = apply_check(node, counter, true, "HTTP 200", p, clock.now());
  ASSERT_TRUE(up);
  EXPECT_EQ(up->health_to, Health::Up);
  EXPECT_EQ(up->cause, "health check passed 2 times in a row: HTTP 200");
  EXPECT_TRUE(node.usable());
}

TEST_F(NodeStateTest, ChecksBringANodeBackThroughSlowStart) {
  const HealthPolicy p = check_policy(seconds(20));
  HealthCounter counter(p.rise, p.fall, Health::Down);
  mark_down(node, "down", clock.now());
  apply_check(node, counter, true, "", p, clock.now());
  auto up = apply_check(node, counter, true, "", p, clock.now());
  ASSERT_TRUE(up);
  EXPECT_EQ(up->health_to, Health::Starting);
  EXPECT_EQ(up->cause, "health check passed 2 times in a row");
  EXPECT_EQ(node.ramp(), 1u);
}

TEST_F(NodeStateTest, NoChecksInMaintenance) {
  const HealthPolicy p = check_policy();
  HealthCounter counter(p.rise, p.fall, node.health());
  set_admin(node, Admin::Maintenance, "operator", clock.now());
  EXPECT_FALSE(checks_enabled(node));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(apply_check(node, counter, false, "", p, clock.now()));
  EXPECT_EQ(node.health(), Health::Up);
  EXPECT_EQ(counter.failures(), 0u) << "results ignored";
  set_admin(node, Admin::Draining, "operator", clock.now());
  EXPECT_TRUE(checks_enabled(node)) << "draining nodes are still checked";
}

TEST_F(NodeStateTest, CounterFollowsANodeMarkedDownElsewhere) {
  const HealthPolicy p = check_policy();
  HealthCounter counter(p.rise, p.fall, node.health());
  apply_check(node, counter, false, "", p, clock.now());  // a run under way
  mark_down(node, "passive", clock.now());
  EXPECT_FALSE(apply_check(node, counter, true, "", p, clock.now())) << "one success is not `rise`";
  EXPECT_EQ(counter.state(), Health::Down);
  EXPECT_TRUE(apply_check(node, counter, true, "", p, clock.now()));
  EXPECT_EQ(node.health(), Health::Up);
}

// ---------------------------------------------------------------------------------------------
// Passive checks

TEST_F(NodeStateTest, PassiveFailuresInARowMarkDown) {
  const HealthPolicy p = check_policy();  // 3 in a row
  EXPECT_FALSE(observe_passive(node, PassiveResult::ConnectFailure, p, clock));
  EXPECT_FALSE(observe_passive(node, PassiveResult::ConnectFailure, p, clock));
  EXPECT_EQ(node.passive().streak(), 2u);
  EXPECT_TRUE(node.usable());
  clock.advance(seconds(3));
  auto c = observe_passive(node, PassiveResult::ConnectFailure, p, clock);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->health_to, Health::Down);
  EXPECT_EQ(c->cause, "3 failures in a row on live traffic (last: connect failure)");
  EXPECT_EQ(c->at, clock.now()) << "clock read when the node changes";
  EXPECT_FALSE(node.usable());
  EXPECT_FALSE(observe_passive(node, PassiveResult::ConnectFailure, p, clock)) << "reported once";
  EXPECT_EQ(read_state(node).downs, 1u);
}

TEST_F(NodeStateTest, PassiveSuccessEndsTheRun) {
  const HealthPolicy p = check_policy();
  for (int round = 0; round < 10; ++round) {
    EXPECT_FALSE(observe_passive(node, PassiveResult::ConnectFailure, p, clock));
    EXPECT_FALSE(observe_passive(node, PassiveResult::ConnectFailure, p, clock));
    EXPECT_FALSE(observe_passive(node, PassiveResult::Success, p, clock));
    EXPECT_EQ(node.passive().streak(), 0u);
  }
  EXPECT_TRUE(node.usable());
}

TEST_F(NodeStateTest, FiveHundredsCountOnlyWhenAskedFor) {
  HealthPolicy p = check_policy();
  for (int i = 0; i < 2; ++i) observe_passive(node, PassiveResult::ConnectFailure, p, clock);
  EXPECT_FALSE(observe_passive(node, PassiveResult::ServerError, p, clock));
  EXPECT_EQ(node.passive().streak(), 0u) << "a 5xx answer proves the node accepts connections";

  p.passive_5xx = true;
  EXPECT_FALSE(observe_passive(node, PassiveResult::ServerError, p, clock));
  EXPECT_FALSE(observe_passive(node, PassiveResult::ConnectFailure, p, clock));
  auto c = observe_passive(node, PassiveResult::ServerError, p, clock);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->cause, "3 failures in a row on live traffic (last: 5xx answer)");
}

TEST_F(NodeStateTest, PassiveChecksOffByDefault) {
  HealthPolicy p;
  for (int i = 0; i < 100; ++i)
    EXPECT_FALSE(observe_passive(node, PassiveResult::ConnectFailure, p, clock));
  EXPECT_TRUE(node.usable());
  EXPECT_EQ(node.passive().streak(), 0u) << "not even counted";
}

TEST_F(NodeStateTest, ActiveChecksBringBackAPassiveDown) {
  const HealthPolicy p = check_policy();
  HealthCounter counter(p.rise, p.fall, node.health());
  for (int i = 0; i < 3; ++i) observe_passive(node, PassiveResult::ConnectFailure, p, clock);
  ASSERT_EQ(node.health(), Health::Down);
  EXPECT_FALSE(apply_check(node, counter, true, "", p, clock.now()));
  auto up = apply_check(node, counter, true, "", p, clock.now());
  ASSERT_TRUE(up);
  EXPECT_EQ(node.passive().streak(), 0u) << "a node back up starts a new run";
  EXPECT_FALSE(observe_passive(node, PassiveResult::ConnectFailure, p, clock));
  EXPECT_TRUE(node.usable());
}

TEST_F(NodeStateTest, PassiveDownIsReportedOnceAcrossThreads) {
  HealthPolicy p = check_policy();
  p.passive_failures = 1000;
  std::atomic<int> reports{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (observe_passive(node, PassiveResult::ConnectFailure, p, clock)) ++reports;
    });
  for (auto& w : workers) w.join();
  EXPECT_EQ(reports.load(), 1);
  EXPECT_EQ(node.health(), Health::Down);
  EXPECT_EQ(read_state(node).downs, 1u);
}

TEST_F(NodeStateTest, ConcurrentAdminChangesAreCountedExactly) {
  std::atomic<uint64_t> reported{0};
  std::vector<std::thread> operators;
  for (int t = 0; t < 4; ++t)
    operators.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        Admin to = (i + t) % 2 ? Admin::Draining : Admin::Active;
        if (set_admin(node, to, "operator", clock.now())) ++reported;
      }
    });
  for (auto& o : operators) o.join();
  EXPECT_EQ(read_state(node).admin_changes, reported.load());
}

// ---------------------------------------------------------------------------------------------
// Draining

TEST_F(NodeStateTest, DrainDeadline) {
  const auto timeout = seconds(30);
  EXPECT_FALSE(drain_deadline(node, timeout)) << "active";
  set_admin(node, Admin::Draining, "operator", clock.now());
  EXPECT_EQ(drain_deadline(node, timeout), clock.now() + timeout);
  EXPECT_FALSE(drain_deadline(node, Clock::duration::zero())) << "zero: never cut";
  clock.advance(seconds(29));
  EXPECT_FALSE(drain_expired(node, timeout, clock.now()));
  clock.advance(seconds(1));
  EXPECT_TRUE(drain_expired(node, timeout, clock.now()));

  set_admin(node, Admin::Maintenance, "operator", clock.now());
  EXPECT_EQ(drain_deadline(node, timeout), clock.now() + timeout)
      << "maintenance drains too, from when it began";
  set_admin(node, Admin::Active, "operator", clock.now());
  EXPECT_FALSE(drain_expired(node, timeout, clock.now() + seconds(3600)));
}

TEST_F(NodeStateTest, DrainingKeepsInFlightWork) {
  NodeLease lease(&node);
  set_admin(node, Admin::Draining, "operator", clock.now());
  EXPECT_FALSE(node.usable());
  EXPECT_EQ(node.in_flight(), 1u) << "in-flight work continues";
  lease.release();
  EXPECT_EQ(node.in_flight(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Reload

PoolSettings pool_settings(std::vector<NodeSettings> nodes) {
  PoolSettings s;
  s.name = "cloud";
  s.nodes = std::move(nodes);
  return s;
}

TEST_F(NodeStateTest, StateSurvivesPoolRebuildForNodesThatStay) {
  Pool old_pool(pool_settings({settings(1), settings(2), settings(3)}), nullptr);
  Node& n1 = *old_pool.nodes()[0];
  Node& n2 = *old_pool.nodes()[1];
  Node& n3 = *old_pool.nodes()[2];
  set_admin(n1, Admin::Maintenance, "operator: disk swap", clock.now());
  set_admin(n2, Admin::Draining, "operator: drain", clock.now());
  mark_down(n2, "health check failed", clock.now());
  mark_up(n2, seconds(60), "health check passed", clock.now());
  clock.advance(seconds(30));
  advance_slow_start(n2, seconds(60), clock.now());
  set_admin(n3, Admin::Draining, "operator", clock.now());

  // node3 leaves the config; node2 gets a new weight; node4 arrives.
  Pool p(pool_settings({settings(1), settings(2, 3), settings(4)}), &old_pool);
  NodeStateView v1 = read_state(*p.nodes()[0]);
  EXPECT_EQ(v1.admin, Admin::Maintenance);
  EXPECT_EQ(v1.admin_changes, 1u);
  EXPECT_EQ(v1.last_cause, "operator: disk swap");

  NodeStateView v2 = read_state(*p.nodes()[1]);
  EXPECT_EQ(v2.admin, Admin::Draining);
  EXPECT_EQ(v2.health, Health::Starting);
  EXPECT_EQ(v2.health_changes, 2u);
  EXPECT_EQ(v2.ramp, kFull / 2) << "ramp carried over";
  EXPECT_EQ(v2.effective_weight, 3 * kFull / 2) << "with the new weight";

  NodeStateView v4 = read_state(*p.nodes()[2]);
  EXPECT_EQ(v4.admin, Admin::Active);
  EXPECT_EQ(v4.health, Health::Up);
  EXPECT_EQ(v4.admin_changes, 0u);
  EXPECT_TRUE(v4.usable);

  // The ramp goes on in the new snapshot.
  clock.advance(seconds(30));
  auto done = advance_slow_start(*p.nodes()[1], seconds(60), clock.now());
  ASSERT_TRUE(done);
  EXPECT_EQ(done->health_to, Health::Up);
}

}  // namespace
}  // namespace routing
