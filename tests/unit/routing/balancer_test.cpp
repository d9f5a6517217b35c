#include "routing/balancer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "routing/node.h"
#include "routing/pool.h"
#include "routing/random.h"
#include "routing/settings.h"

namespace routing {
namespace {

// Returns the scripted values in order (0 once they run out) and records every bound asked for.
class ScriptedRandom final : public Random {
 public:
  explicit ScriptedRandom(std::vector<uint32_t> values = {}) : values_(std::move(values)) {}

  uint32_t below(uint32_t bound) override {
    bounds.push_back(bound);
    uint32_t v = next_ < values_.size() ? values_[next_++] : 0;
    EXPECT_LT(v, bound) << "scripted value out of range";
    return v % bound;
  }

  size_t calls() const { return bounds.size(); }
  std::vector<uint32_t> bounds;

 private:
  std::vector<uint32_t> values_;
  size_t next_ = 0;
};

NodeSettings node_settings(size_t i, uint32_t weight = 1) {
  std::string address = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":8080";
  return NodeSettings{.name = "node" + std::to_string(i), .address = address, .weight = weight};
}

// A set of nodes owned by the test, as a balancer sees them.
struct Fleet {
  explicit Fleet(std::vector<uint32_t> weights) {
    for (size_t i = 0; i < weights.size(); ++i) {
      owned.push_back(std::make_unique<Node>(node_settings(i, weights[i])));
      raw.push_back(owned.back().get());
    }
    for (size_t i = 0; i < raw.size(); ++i) index[raw[i]] = i;
  }
  static Fleet uniform(size_t n) { return Fleet(std::vector<uint32_t>(n, 1)); }

  std::span<Node* const> nodes() const { return raw; }
  Node& operator[](size_t i) { return *raw[i]; }

  // Holds `count` more leases on node i for the lifetime of the fleet.
  void load(size_t i, uint32_t count) {
    for (uint32_t k = 0; k < count; ++k) held.emplace_back(raw[i]);
  }
  // Index of the node a lease is on; -1 for an empty lease.
  int which(const NodeLease& lease) const {
    return lease ? static_cast<int>(index.at(lease.node())) : -1;
  }

  std::vector<std::unique_ptr<Node>> owned;
  std::vector<Node*> raw;
  std::map<const Node*, size_t> index;
  std::vector<NodeLease> held;
};

// ---------------------------------------------------------------------------------------------
// NodeLease

TEST(NodeLeaseTest, DefaultLeaseIsEmpty) {
  NodeLease lease;
  EXPECT_FALSE(lease);
  EXPECT_EQ(lease.node(), nullptr);
  lease.release();  // harmless
  EXPECT_FALSE(lease);
}

TEST(NodeLeaseTest, CountsOneUnitWhileHeld) {
  Node node(node_settings(0));
  EXPECT_EQ(node.in_flight(), 0u);
  {
    NodeLease a(&node);
    EXPECT_TRUE(a);
    EXPECT_EQ(a.node(), &node);
    EXPECT_EQ(node.in_flight(), 1u);
    NodeLease b(&node);
    EXPECT_EQ(node.in_flight(), 2u);
  }
  EXPECT_EQ(node.in_flight(), 0u);
}

TEST(NodeLeaseTest, ReleaseIsIdempotent) {
  Node node(node_settings(0));
  NodeLease lease(&node);
  lease.release();
  EXPECT_FALSE(lease);
  EXPECT_EQ(node.in_flight(), 0u);
  lease.release();
  EXPECT_EQ(node.in_flight(), 0u);
}

TEST(NodeLeaseTest, NullNodeCountsNothing) {
  NodeLease lease(nullptr);
  EXPECT_FALSE(lease);
}

TEST(NodeLeaseTest, MoveConstructionTransfersTheUnit) {
  Node node(node_settings(0));
  NodeLease a(&node);
  NodeLease b(std::move(a));
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_TRUE(b);
  EXPECT_EQ(b.node(), &node);
  EXPECT_EQ(node.in_flight(), 1u);
  b.release();
  EXPECT_EQ(node.in_flight(), 0u);
}

TEST(NodeLeaseTest, MoveAssignmentReleasesTheOldNode) {
  Node x(node_settings(0));
  Node y(node_settings(1));
  NodeLease a(&x);
  NodeLease b(&y);
  EXPECT_EQ(x.in_flight(), 1u);
  EXPECT_EQ(y.in_flight(), 1u);
  b = std::move(a);
  EXPECT_EQ(b.node(), &x);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(x.in_flight(), 1u);
  EXPECT_EQ(y.in_flight(), 0u);
  b = NodeLease();
  EXPECT_EQ(x.in_flight(), 0u);
}

TEST(NodeLeaseTest, LeasesSurviveInAContainer) {
  Node node(node_settings(0));
  std::vector<NodeLease> leases;
  for (int i = 0; i < 100; ++i) leases.emplace_back(&node);  // reallocations move them
  EXPECT_EQ(node.in_flight(), 100u);
  leases.erase(leases.begin(), leases.begin() + 40);
  EXPECT_EQ(node.in_flight(), 60u);
  leases.clear();
  EXPECT_EQ(node.in_flight(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Node state

TEST(BalancerNodeStateTest, UsableOnlyWhenUpOrStartingAndActive) {
  Node node(node_settings(0));
  EXPECT_TRUE(node.usable());
  node.set_health(Health::Starting);
  EXPECT_TRUE(node.usable());
  node.set_health(Health::Down);
  EXPECT_FALSE(node.usable());
  node.set_health(Health::Up);
  node.set_admin(Admin::Draining);
  EXPECT_FALSE(node.usable());
  node.set_admin(Admin::Maintenance);
  EXPECT_FALSE(node.usable());
  node.set_admin(Admin::Active);
  EXPECT_TRUE(node.usable());
}

TEST(BalancerNodeStateTest, ZeroWeightMeansOne) {
  Node node(node_settings(0, 0));
  EXPECT_EQ(node.weight(), 1u);
  node.set_weight(5);
  EXPECT_EQ(node.weight(), 5u);
  node.set_weight(0);
  EXPECT_EQ(node.weight(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Least loaded, full scan (small pools)

TEST(LeastLoadedTest, PicksTheLowestInFlightPerWeight) {
  // (in_flight + 1) / weight: 1/1, 4/3, 1/2 -> node 2.
  Fleet f({1, 3, 2});
  f.load(1, 3);
  LeastLoadedBalancer b;
  ScriptedRandom rng;
  EXPECT_EQ(f.which(b.pick(f.nodes(), {rng})), 2);
  EXPECT_EQ(rng.calls(), 0u) << "no tie, no draw";

  // 1/1, 2/3, 2/2 -> node 1.
  Fleet g({1, 3, 2});
  g.load(1, 1);
  g.load(2, 1);
  EXPECT_EQ(g.which(b.pick(g.nodes(), {rng})), 1);
  EXPECT_EQ(rng.calls(), 0u);
}

TEST(LeastLoadedTest, CountsTheNewRequestInTheLoad) {
  // Without the +1 node 0 (0/1) would beat node 1 (1/3); with it, 1/1 loses to 2/3.
  Fleet f({1, 3});
  f.load(1, 1);
  LeastLoadedBalancer b;
  ScriptedRandom rng;
  EXPECT_EQ(f.which(b.pick(f.nodes(), {rng})), 1);
}

TEST(LeastLoadedTest, LeaseCountsOnThePickedNode) {
  Fleet f = Fleet::uniform(2);
  f.load(0, 1);
  LeastLoadedBalancer b;
  ScriptedRandom rng;
  {
    NodeLease lease = b.pick(f.nodes(), {rng});
    ASSERT_EQ(f.which(lease), 1);
    EXPECT_EQ(f[1].in_flight(), 1u);
    EXPECT_EQ(f[0].in_flight(), 1u);
  }
  EXPECT_EQ(f[1].in_flight(), 0u);
}

TEST(LeastLoadedTest, TiesAreBrokenByTheInjectedRandom) {
  // Three equal nodes: node 1 ties with node 0 (draw below 2), node 2 ties with the best so far
  // (draw below 3); a draw of 0 takes the newcomer.
  Fleet f = Fleet::uniform(3);
  LeastLoadedBalancer b;
  struct Case {
    std::vector<uint32_t> draws;
    int expected;
  };
  for (const Case& c : {Case{{1, 1}, 0}, Case{{0, 1}, 1}, Case{{0, 0}, 2}, Case{{1, 0}, 2}}) {
    ScriptedRandom rng(c.draws);
    EXPECT_EQ(f.which(b.pick(f.nodes(), {rng})), c.expected);
    EXPECT_EQ(rng.bounds, (std::vector<uint32_t>{2, 3}));
  }
}

TEST(LeastLoadedTest, OnlyTiedNodesDrawForTheTie) {
  // Node 1 is loaded: the tie is between nodes 0 and 2 only, one draw below 2.
  Fleet f = Fleet::uniform(3);
  f.load(1, 1);
  LeastLoadedBalancer b;
  ScriptedRandom keep_first({1});
  EXPECT_EQ(f.which(b.pick(f.nodes(), {keep_first})), 0);
  EXPECT_EQ(keep_first.bounds, (std::vector<uint32_t>{2}));
  ScriptedRandom take_last({0});
  EXPECT_EQ(f.which(b.pick(f.nodes(), {take_last})), 2);
}

TEST(LeastLoadedTest, WeightedTiesAreTies) {
  // 2/2 == 1/1: a tie, decided by the draw.
  Fleet f({2, 1});
  f.load(0, 1);
  LeastLoadedBalancer b;
  ScriptedRandom first({1});
  EXPECT_EQ(f.which(b.pick(f.nodes(), {first})), 0);
  ScriptedRandom second({0});
  EXPECT_EQ(f.which(b.pick(f.nodes(), {second})), 1);
}

TEST(LeastLoadedTest, HeldLoadFollowsTheWeights) {
  // Leases held, never released: in-flight counts grow in the 2:1 ratio of the weights.
  Fleet f({2, 1});
  LeastLoadedBalancer b;
  FastRandom rng(42);
  std::vector<NodeLease> leases;
  for (int i = 1; i <= 300; ++i) {
    leases.push_back(b.pick(f.nodes(), {rng}));
    ASSERT_TRUE(leases.back());
    int64_t a = f[0].in_flight(), c = f[1].in_flight();
    EXPECT_LE(std::abs(a - 2 * c), 2) << "after " << i << " picks: " << a << " vs " << c;
  }
  EXPECT_EQ(f[0].in_flight(), 200u);
  EXPECT_EQ(f[1].in_flight(), 100u);
}

TEST(LeastLoadedTest, ChurningLoadStaysAtTheWeightRatio) {
  // A steady state: 60 requests in flight, each step the oldest one ends and a new one starts.
  Fleet f({1, 2, 3});
  LeastLoadedBalancer b;
  FastRandom rng(7);
  std::deque<NodeLease> leases;
  for (int i = 0; i < 60; ++i) leases.push_back(b.pick(f.nodes(), {rng}));
  EXPECT_EQ(f[0].in_flight(), 10u);
  EXPECT_EQ(f[1].in_flight(), 20u);
  EXPECT_EQ(f[2].in_flight(), 30u);
  for (int step = 0; step < 5000; ++step) {
    // End a request chosen at random, so some nodes drain faster than others.
    leases.erase(leases.begin() + rng.below(static_cast<uint32_t>(leases.size())));
    leases.push_back(b.pick(f.nodes(), {rng}));
    ASSERT_EQ(f[0].in_flight() + f[1].in_flight() + f[2].in_flight(), 60u);
    for (size_t i = 0; i < 3; ++i) {
      double share = f[i].in_flight() / 60.0, want = (i + 1) / 6.0;
      ASSERT_NEAR(share, want, 2.0 / 60) << "node " << i << " at step " << step;
    }
  }
}

TEST(LeastLoadedTest, UnusableNodesAreNeverPicked) {
  // The only usable node is by far the most loaded.
  Fleet f = Fleet::uniform(5);
  f[0].set_health(Health::Down);
  f[1].set_admin(Admin::Draining);
  f[2].set_admin(Admin::Maintenance);
  f[3].set_health(Health::Down);
  f[3].set_admin(Admin::Maintenance);
  f.load(4, 50);
  LeastLoadedBalancer b;
  FastRandom rng(1);
  for (int i = 0; i < 100; ++i) {
    NodeLease lease = b.pick(f.nodes(), {rng});
    ASSERT_EQ(f.which(lease), 4);
  }
}

TEST(LeastLoadedTest, StartingNodesTakeWork) {
  Fleet f = Fleet::uniform(2);
  f[0].set_health(Health::Starting);
  f[1].set_health(Health::Down);
  LeastLoadedBalancer b;
  ScriptedRandom rng;
  EXPECT_EQ(f.which(b.pick(f.nodes(), {rng})), 0);
}

TEST(LeastLoadedTest, RampingNodesCountWithTheirEffectiveWeight) {
  // Node 0 comes back at a quarter of its weight (slow start): held load goes 1:4.
  Fleet f = Fleet::uniform(2);
  f[0].set_health(Health::Starting);
  f[0].set_ramp(Node::kFullRamp / 4);
  LeastLoadedBalancer b;
  FastRandom rng(7);
  for (int i = 0; i < 100; ++i) f.held.push_back(b.pick(f.nodes(), {rng}));
  EXPECT_EQ(f[0].in_flight(), 20u);
  EXPECT_EQ(f[1].in_flight(), 80u);
}

TEST(LeastLoadedTest, RampAndWeightCombine) {
  // Weight 4 at half ramp weighs as much as weight 2 at full ramp: load 1:1.
  Fleet f({4, 2});
  f[0].set_ramp(Node::kFullRamp / 2);
  LeastLoadedBalancer b;
  FastRandom rng(3);
  for (int i = 0; i < 100; ++i) f.held.push_back(b.pick(f.nodes(), {rng}));
  EXPECT_EQ(f[0].in_flight(), 50u);
  EXPECT_EQ(f[1].in_flight(), 50u);
}

TEST(LeastLoadedTest, AllUnusableGivesAnEmptyLease) {
  Fleet f = Fleet::uniform(3);
  f[0].set_health(Health::Down);
  f[1].set_admin(Admin::Draining);
  f[2].set_admin(Admin::Maintenance);
  LeastLoadedBalancer b;
  ScriptedRandom rng;
  NodeLease lease = b.pick(f.nodes(), {rng});
  EXPECT_FALSE(lease);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(f[i].in_flight(), 0u);
}

TEST(LeastLoadedTest, EmptyPoolGivesAnEmptyLease) {
  LeastLoadedBalancer b;
  ScriptedRandom rng;
  EXPECT_FALSE(b.pick({}, {rng}));
}

TEST(LeastLoadedTest, ExcludedNodesAreSkipped) {
  // Node 0 is the least loaded but was already tried.
  Fleet f = Fleet::uniform(3);
  f.load(1, 2);
  f.load(2, 1);
  LeastLoadedBalancer b;
  ScriptedRandom rng;
  const Node* tried[] = {&f[0]};
  EXPECT_EQ(f.which(b.pick(f.nodes(), {rng, tried})), 2);
  const Node* tried_two[] = {&f[2], &f[0]};
  EXPECT_EQ(f.which(b.pick(f.nodes(), {rng, tried_two})), 1);
  const Node* all[] = {&f[1], &f[2], &f[0]};
  EXPECT_FALSE(b.pick(f.nodes(), {rng, all}));
}

// ---------------------------------------------------------------------------------------------
// Least loaded, power of two choices (large pools)

constexpr size_t kLarge = 100;
static_assert(kLarge > LeastLoadedBalancer::kFullScanLimit);

TEST(LeastLoadedTest, LargePoolPrefersTheLessLoadedOfTwo) {
  Fleet f = Fleet::uniform(kLarge);
  f.load(5, 3);
  f.load(42, 1);
  LeastLoadedBalancer b;
  ScriptedRandom forward({5, 42});
  EXPECT_EQ(f.which(b.pick(f.nodes(), {forward})), 42);
  EXPECT_EQ(forward.bounds, (std::vector<uint32_t>{kLarge, kLarge}));
  ScriptedRandom backward({42, 5});
  EXPECT_EQ(f.which(b.pick(f.nodes(), {backward})), 42);
  EXPECT_EQ(backward.calls(), 2u);
}

TEST(LeastLoadedTest, LargePoolComparesOnlyTheTwoDrawn) {
  // Node 0 is idle but not drawn: the less loaded of the two drawn wins.
  Fleet f = Fleet::uniform(kLarge);
  for (size_t i = 1; i < kLarge; ++i) f.load(i, 2);
  f.load(10, 1);
  LeastLoadedBalancer b;
  ScriptedRandom rng({10, 20});
  EXPECT_EQ(f.which(b.pick(f.nodes(), {rng})), 20);
}

TEST(LeastLoadedTest, LargePoolUsesWeights) {
  std::vector<uint32_t> weights(kLarge, 1);
  weights[7] = 4;
  Fleet f(weights);
  f.load(7, 3);  // (3 + 1) / 4 = 1
  f.load(8, 1);  // (1 + 1) / 1 = 2: node 7 wins though it holds more
  LeastLoadedBalancer b;
  ScriptedRandom rng({8, 7});
  EXPECT_EQ(f.which(b.pick(f.nodes(), {rng})), 7);
}

TEST(LeastLoadedTest, LargePoolUsesEffectiveWeights) {
  Fleet f = Fleet::uniform(kLarge);
  for (size_t i = 0; i < kLarge; ++i) f.load(i, 1);
  f[5].set_ramp(1);  // nearly nothing: loses every comparison against a full node
  LeastLoadedBalancer b;
  FastRandom rng(11);
  uint32_t picked = 0;
  for (int i = 0; i < 1000; ++i) picked += b.pick(f.nodes(), {rng}).node() == &f[5];
  EXPECT_EQ(picked, 0u);
}

TEST(LeastLoadedTest, LargePoolTieIsBrokenByTheInjectedRandom) {
  Fleet f = Fleet::uniform(kLarge);
  LeastLoadedBalancer b;
  ScriptedRandom second({5, 42, 1});
  EXPECT_EQ(f.which(b.pick(f.nodes(), {second})), 42);
  EXPECT_EQ(second.bounds, (std::vector<uint32_t>{kLarge, kLarge, 2}));
  ScriptedRandom first({5, 42, 0});
  EXPECT_EQ(f.which(b.pick(f.nodes(), {first})), 5);
}

TEST(LeastLoadedTest, LargePoolRedrawsUnusableExcludedAndRepeatedNodes) {
  Fleet f = Fleet::uniform(kLarge);
  f[3].set_health(Health::Down);
  f[4].set_admin(Admin::Draining);
  f[6].set_admin(Admin::Maintenance);
  f.load(9, 1);
  const Node* tried[] = {&f[5]};
  LeastLoadedBalancer b;
  // 3, 4, 5 (excluded) and 6 are passed over; 7 is drawn twice; then 9 is the second choice.
  ScriptedRandom rng({3, 4, 5, 7, 6, 7, 9});
  EXPECT_EQ(f.which(b.pick(f.nodes(), {rng, tried})), 7);
  EXPECT_EQ(rng.calls(), 7u);
}

TEST(LeastLoadedTest, LargePoolFallsBackToAFullScan) {
  // Eight draws land on unusable nodes: the full scan still finds the best usable node.
  Fleet f = Fleet::uniform(kLarge);
  for (size_t i = 0; i < kLarge; i += 2) f[i].set_health(Health::Down);
  for (size_t i = 1; i < kLarge; i += 2)
    if (i != 51) f.load(i, 1);
  LeastLoadedBalancer b;
  ScriptedRandom rng({0, 2, 4, 6, 8, 10, 12, 14});
  EXPECT_EQ(f.which(b.pick(f.nodes(), {rng})), 51);
  EXPECT_EQ(std::vector<uint32_t>(rng.bounds.begin(), rng.bounds.begin() + 8),
            std::vector<uint32_t>(8, kLarge));
}

TEST(LeastLoadedTest, LargePoolWithOneUsableNodeFindsIt) {
  Fleet f = Fleet::uniform(kLarge);
  for (size_t i = 0; i < kLarge; ++i)
    if (i != 77) f[i].set_admin(Admin::Maintenance);
  LeastLoadedBalancer b;
  FastRandom rng(3);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(f.which(b.pick(f.nodes(), {rng})), 77);
}

TEST(LeastLoadedTest, LargePoolNeverPicksAnUnusableNode) {
  Fleet f = Fleet::uniform(kLarge);
  for (size_t i = 0; i < kLarge; ++i) {
    if (i % 3 == 0) f[i].set_health(Health::Down);
    if (i % 7 == 0) f[i].set_admin(Admin::Draining);
    if (i % 11 == 0) f[i].set_admin(Admin::Maintenance);
  }
  LeastLoadedBalancer b;
  FastRandom rng(2024);
  std::vector<NodeLease> held;
  for (int i = 0; i < 20'000; ++i) {
    NodeLease lease = b.pick(f.nodes(), {rng});
    ASSERT_TRUE(lease);
    ASSERT_TRUE(lease.node()->usable()) << lease.node()->name();
    if (i % 4 == 0) held.push_back(std::move(lease));  // build up uneven load
  }
}

TEST(LeastLoadedTest, LargePoolSpreadsHeldLoadEvenly) {
  // Power of two choices keeps the maximum load close to the mean.
  Fleet f = Fleet::uniform(kLarge);
  LeastLoadedBalancer b;
  FastRandom rng(99);
  std::vector<NodeLease> held;
  for (size_t i = 0; i < 20 * kLarge; ++i) held.push_back(b.pick(f.nodes(), {rng}));
  uint32_t lo = UINT32_MAX, hi = 0;
  for (Node* n : f.raw) {
    lo = std::min(lo, n->in_flight());
    hi = std::max(hi, n->in_flight());
  }
  EXPECT_GE(lo, 16u);
  EXPECT_LE(hi, 24u);
}

TEST(LeastLoadedTest, LargePoolAllUnusableOrExcludedGivesAnEmptyLease) {
  Fleet f = Fleet::uniform(kLarge);
  std::vector<const Node*> tried;
  for (size_t i = 0; i < kLarge; ++i) {
    if (i % 2)
      f[i].set_health(Health::Down);
    else
      tried.push_back(&f[i]);
  }
  LeastLoadedBalancer b;
  FastRandom rng(5);
  EXPECT_FALSE(b.pick(f.nodes(), {rng, tried}));
  for (Node* n : f.raw) EXPECT_EQ(n->in_flight(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Round robin

std::string sequence(RoundRobinBalancer& b, Fleet& f, size_t count, const PickContext& ctx) {
  std::string s;
  for (size_t i = 0; i < count; ++i) {
    int w = f.which(b.pick(f.nodes(), ctx));
    s += w < 0 ? '-' : static_cast<char>('a' + w);
  }
  return s;
}

TEST(RoundRobinTest, EqualWeightsTakeTurns) {
  Fleet f = Fleet::uniform(3);
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  EXPECT_EQ(sequence(b, f, 9, {rng}), "abcabcabc");
  EXPECT_EQ(rng.calls(), 0u) << "round robin draws nothing";
}

TEST(RoundRobinTest, WeightsThreeToOne) {
  Fleet f({3, 1});
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  std::string s = sequence(b, f, 40, {rng});
  for (size_t cycle = 0; cycle < s.size(); cycle += 4) {
    std::string c = s.substr(cycle, 4);
    EXPECT_EQ(std::count(c.begin(), c.end(), 'a'), 3) << s;
    EXPECT_EQ(std::count(c.begin(), c.end(), 'b'), 1) << s;
  }
  EXPECT_EQ(s.substr(0, 4), "aaba");
}

TEST(RoundRobinTest, SmoothInterleave) {
  // nginx's example: weights 5, 1, 1 give a a b a c a a, never five a in a row.
  Fleet f({5, 1, 1});
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  std::string s = sequence(b, f, 21, {rng});
  EXPECT_EQ(s, "aabacaaaabacaaaabacaa");
  EXPECT_EQ(s.find("aaaaa"), std::string::npos);
}

TEST(RoundRobinTest, HeldLoadIsIgnored) {
  Fleet f = Fleet::uniform(2);
  f.load(0, 10);
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  EXPECT_EQ(sequence(b, f, 4, {rng}), "abab");
}

TEST(RoundRobinTest, LeaseCountsOnThePickedNode) {
  Fleet f = Fleet::uniform(2);
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  NodeLease first = b.pick(f.nodes(), {rng});
  NodeLease second = b.pick(f.nodes(), {rng});
  EXPECT_EQ(f[0].in_flight(), 1u);
  EXPECT_EQ(f[1].in_flight(), 1u);
  first.release();
  EXPECT_EQ(f[0].in_flight(), 0u);
}

TEST(RoundRobinTest, SkipsUnusableNodes) {
  Fleet f = Fleet::uniform(4);
  f[1].set_health(Health::Down);
  f[2].set_admin(Admin::Draining);
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  std::string s = sequence(b, f, 40, {rng});
  EXPECT_EQ(s.find_first_of("bc-"), std::string::npos) << s;
  f[3].set_admin(Admin::Maintenance);
  s = sequence(b, f, 10, {rng});
  EXPECT_EQ(s, "aaaaaaaaaa");
}

TEST(RoundRobinTest, AnUnusableNodesShareIsSpreadOverTheOthers) {
  // With one node of three down, the other two take turns: its slots do not all go to the node
  // after it in the schedule.
  Fleet f = Fleet::uniform(3);
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  f[1].set_health(Health::Down);
  std::string s = sequence(b, f, 30, {rng});
  EXPECT_EQ(std::count(s.begin(), s.end(), 'a'), 15) << s;
  EXPECT_EQ(std::count(s.begin(), s.end(), 'c'), 15) << s;
}

TEST(RoundRobinTest, WeightsHoldAmongTheRemainingNodes) {
  Fleet f({3, 2, 1});
  f[0].set_admin(Admin::Maintenance);
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  std::string s = sequence(b, f, 30, {rng});
  EXPECT_EQ(std::count(s.begin(), s.end(), 'b'), 20) << s;
  EXPECT_EQ(std::count(s.begin(), s.end(), 'c'), 10) << s;
}

TEST(RoundRobinTest, NodeComingBackIsPickedAgain) {
  Fleet f = Fleet::uniform(2);
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  f[0].set_health(Health::Down);
  EXPECT_EQ(sequence(b, f, 3, {rng}), "bbb");
  f[0].set_health(Health::Starting);
  std::string s = sequence(b, f, 4, {rng});
  EXPECT_EQ(std::count(s.begin(), s.end(), 'a'), 2) << s;
}

TEST(RoundRobinTest, AllUnusableGivesAnEmptyLease) {
  Fleet f = Fleet::uniform(3);
  for (size_t i = 0; i < 3; ++i) f[i].set_health(Health::Down);
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  EXPECT_EQ(sequence(b, f, 3, {rng}), "---");
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(f[i].in_flight(), 0u);
}

TEST(RoundRobinTest, EmptyPoolGivesAnEmptyLease) {
  RoundRobinBalancer b({});
  ScriptedRandom rng;
  EXPECT_FALSE(b.pick({}, {rng}));
}

TEST(RoundRobinTest, ExcludedNodesAreSkipped) {
  Fleet f = Fleet::uniform(3);
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  const Node* tried[] = {&f[0]};
  std::string s = sequence(b, f, 6, {rng, tried});
  EXPECT_EQ(s.find('a'), std::string::npos) << s;
  const Node* all[] = {&f[0], &f[1], &f[2]};
  EXPECT_FALSE(b.pick(f.nodes(), {rng, all}));
}

// Share of node 0 among `picks` picks of a two-node pool where node 0 ramps at `ramp`.
double ramping_share(uint32_t ramp, int picks = 20000) {
  Fleet f = Fleet::uniform(2);
  f[0].set_ramp(ramp);
  RoundRobinBalancer b(f.nodes());
  FastRandom rng(5);
  int first = 0;
  for (int i = 0; i < picks; ++i) first += b.pick(f.nodes(), {rng}).node() == &f[0];
  return double(first) / picks;
}

TEST(RoundRobinTest, RampingNodesTakeAShareOfTheirTurns) {
  EXPECT_NEAR(ramping_share(Node::kFullRamp), 0.5, 0.001);
  EXPECT_NEAR(ramping_share(Node::kFullRamp / 2), 1.0 / 3, 0.02);
  EXPECT_LT(ramping_share(1), 0.01);
  EXPECT_GT(ramping_share(1), 0.0);
  EXPECT_LT(ramping_share(Node::kFullRamp / 4), ramping_share(Node::kFullRamp / 2));
}

TEST(RoundRobinTest, AFullRampCostsNoDraw) {
  Fleet f = Fleet::uniform(3);
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  EXPECT_EQ(sequence(b, f, 6, {rng}), "abcabc");
  EXPECT_EQ(rng.calls(), 0u);
}

TEST(RoundRobinTest, RampingNodeAloneIsStillPicked) {
  Fleet f = Fleet::uniform(2);
  f[0].set_health(Health::Starting);
  f[0].set_ramp(1);
  f[1].set_health(Health::Down);
  RoundRobinBalancer b(f.nodes());
  FastRandom rng(9);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(f.which(b.pick(f.nodes(), {rng})), 0);
}

TEST(RoundRobinTest, LargePoolVisitsEveryNodeOncePerCycle) {
  Fleet f = Fleet::uniform(kLarge);
  RoundRobinBalancer b(f.nodes());
  ScriptedRandom rng;
  std::vector<int> seen(kLarge, 0);
  for (size_t i = 0; i < 3 * kLarge; ++i) {
    NodeLease lease = b.pick(f.nodes(), {rng});
    ASSERT_TRUE(lease);
    ++seen[f.index.at(lease.node())];
  }
  for (int count : seen) EXPECT_EQ(count, 3);
}

TEST(BalancerFactoryTest, MakesTheKindAsked) {
  Fleet f = Fleet::uniform(2);
  auto rr = make_balancer(Balance::RoundRobin, f.nodes());
  auto ll = make_balancer(Balance::LeastLoaded, f.nodes());
  EXPECT_NE(dynamic_cast<RoundRobinBalancer*>(rr.get()), nullptr);
  EXPECT_NE(dynamic_cast<LeastLoadedBalancer*>(ll.get()), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Pool

PoolSettings pool_settings(std::vector<NodeSettings> nodes,
                           Balance balance = Balance::LeastLoaded) {
  return PoolSettings{.name = "cloud", .balance = balance, .nodes = std::move(nodes)};
}

TEST(PoolTest, WithoutPreviousMakesFreshNodes) {
  Pool p(pool_settings({node_settings(0), node_settings(1, 3)}), nullptr);
  ASSERT_EQ(p.nodes().size(), 2u);
  ASSERT_EQ(p.shared_nodes().size(), 2u);
  EXPECT_EQ(p.name(), "cloud");
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(p.nodes()[i], p.shared_nodes()[i].get());
    EXPECT_EQ(p.nodes()[i]->name(), "node" + std::to_string(i));
    EXPECT_EQ(p.nodes()[i]->in_flight(), 0u);
    EXPECT_TRUE(p.nodes()[i]->usable());
  }
  EXPECT_EQ(p.nodes()[1]->weight(), 3u);
}

TEST(PoolTest, RebuildKeepsNodesWithTheSameNameAndAddress) {
  auto old_pool =
      std::make_unique<Pool>(pool_settings({node_settings(0), node_settings(1)}), nullptr);
  std::shared_ptr<Node> n0 = old_pool->shared_nodes()[0];
  std::shared_ptr<Node> n1 = old_pool->shared_nodes()[1];
  NodeLease lease(n0.get());
  n1->set_health(Health::Down);
  n1->set_admin(Admin::Draining);

  // Same two nodes in another order, one with a new weight, and a third one.
  Pool p(pool_settings({node_settings(1), node_settings(0, 5), node_settings(2)}), old_pool.get());
  ASSERT_EQ(p.shared_nodes().size(), 3u);
  EXPECT_EQ(p.shared_nodes()[0], n1);
  EXPECT_EQ(p.shared_nodes()[1], n0);
  EXPECT_NE(p.shared_nodes()[2], n0);
  EXPECT_NE(p.shared_nodes()[2], n1);
  EXPECT_EQ(p.nodes()[1]->in_flight(), 1u) << "in-flight carried over";
  EXPECT_EQ(p.nodes()[1]->weight(), 5u) << "weight taken from the new settings";
  EXPECT_EQ(p.nodes()[0]->health(), Health::Down) << "state carried over";
  EXPECT_EQ(p.nodes()[0]->admin(), Admin::Draining);
  EXPECT_EQ(p.nodes()[2]->in_flight(), 0u);
  EXPECT_TRUE(p.nodes()[2]->usable());

  // The lease taken in the old snapshot ends on the node the new one counts.
  old_pool.reset();
  lease.release();
  EXPECT_EQ(p.nodes()[1]->in_flight(), 0u);
}

TEST(PoolTest, RebuildMakesNewNodesWhenNameOrAddressChanges) {
  Pool old_pool(pool_settings({node_settings(0), node_settings(1)}), nullptr);
  NodeLease l0(old_pool.nodes()[0]);
  NodeLease l1(old_pool.nodes()[1]);
  old_pool.nodes()[0]->set_health(Health::Down);

  NodeSettings moved = node_settings(0);
  moved.address = "10.9.9.9:8080";  // same name, new address
  NodeSettings renamed = node_settings(1);
  renamed.name = "node1-renamed";  // same address, new name
  Pool p(pool_settings({moved, renamed}), &old_pool);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NE(p.shared_nodes()[i], old_pool.shared_nodes()[i]);
    EXPECT_EQ(p.nodes()[i]->in_flight(), 0u);
    EXPECT_TRUE(p.nodes()[i]->usable());
  }
  EXPECT_EQ(p.nodes()[0]->settings().address, "10.9.9.9:8080");
  EXPECT_EQ(p.nodes()[1]->name(), "node1-renamed");
}

TEST(PoolTest, PicksWithTheConfiguredBalancer) {
  Pool rr(pool_settings({node_settings(0), node_settings(1)}, Balance::RoundRobin), nullptr);
  ScriptedRandom rng;
  NodeLease keep = rr.pick({rng});
  ASSERT_TRUE(keep);
  EXPECT_EQ(keep.node(), rr.nodes()[0]);
  // Round robin ignores the held lease and moves on.
  EXPECT_EQ(rr.pick({rng}).node(), rr.nodes()[1]);
  EXPECT_EQ(rr.pick({rng}).node(), rr.nodes()[0]);

  Pool ll(pool_settings({node_settings(0), node_settings(1)}), nullptr);
  NodeLease held(ll.nodes()[0]);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ll.pick({rng}).node(), ll.nodes()[1]);
  EXPECT_EQ(rng.calls(), 0u);
}

TEST(PoolTest, RebuiltRoundRobinUsesTheNewWeights) {
  Pool old_pool(pool_settings({node_settings(0), node_settings(1)}, Balance::RoundRobin), nullptr);
  Pool p(pool_settings({node_settings(0, 3), node_settings(1)}, Balance::RoundRobin), &old_pool);
  ScriptedRandom rng;
  int first = 0;
  for (int i = 0; i < 8; ++i) first += p.pick({rng}).node() == p.nodes()[0];
  EXPECT_EQ(first, 6);
}

}  // namespace
}  // namespace routing
