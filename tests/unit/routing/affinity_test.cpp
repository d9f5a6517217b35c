#include "routing/affinity.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "routing/affinity_count.h"
#include "routing/pool.h"
#include "routing/random.h"

namespace routing {
namespace {

using namespace std::chrono_literals;

PoolSettings pool_settings(Affinity affinity) {
  PoolSettings p;
  p.name = "web";
  p.affinity = affinity;
  for (auto name : {"a", "b", "c"}) {
    NodeSettings n;
    n.name = name;
    n.address = std::string("10.0.0.") +
                (name[0] == 'a'   ? "1"
                 : name[0] == 'b' ? "2"
                                  : "3") +
                ":80";
    n.cookie = std::string("v-") + name;
    p.nodes.push_back(n);
  }
  return p;
}

TEST(Affinity, NodesTakeTheirClientsWhileUpAndActiveOrDraining) {
  Node n(pool_settings(Affinity::Cookie).nodes[0]);
  EXPECT_TRUE(takes_affine(n));
  n.set_admin(Admin::Draining);
  EXPECT_TRUE(takes_affine(n));
  EXPECT_FALSE(n.usable());
  n.set_admin(Admin::Maintenance);
  EXPECT_FALSE(takes_affine(n));
  n.set_admin(Admin::Active);
  n.set_health(Health::Starting);
  EXPECT_TRUE(takes_affine(n));
  n.set_health(Health::Down);
  EXPECT_FALSE(takes_affine(n));
}

TEST(Affinity, PoolPicksTheAffineNodeWhenItTakesClients) {
  Pool pool(pool_settings(Affinity::Cookie), nullptr);
  FastRandom rng(7);
  Node* b = pool.nodes()[1];
  EXPECT_EQ(pool.node_by_cookie("v-b"), b);
  EXPECT_EQ(pool.node_by_cookie("v-x"), nullptr);
  EXPECT_EQ(pool.node_by_cookie(""), nullptr);
  // The balancer would spread: the affine node wins every time, and its lease counts.
  for (int i = 0; i < 20; ++i) {
    NodeLease l = pool.pick({.random = rng, .affine = b});
    EXPECT_EQ(l.node(), b);
    EXPECT_EQ(b->in_flight(), 1u);
  }
  b->set_admin(Admin::Draining);
  EXPECT_EQ(pool.pick({.random = rng, .affine = b}).node(), b);
  // A new client never gets the draining node.
  for (int i = 0; i < 20; ++i) EXPECT_NE(pool.pick({.random = rng}).node(), b);
  b->set_admin(Admin::Maintenance);
  EXPECT_NE(pool.pick({.random = rng, .affine = b}).node(), b);
  b->set_admin(Admin::Active);
  b->set_health(Health::Down);
  EXPECT_NE(pool.pick({.random = rng, .affine = b}).node(), b);
  b->set_health(Health::Up);
  // Tried already (a failed connect): another node.
  const Node* tried[] = {b};
  EXPECT_NE(pool.pick({.random = rng, .exclude = tried, .affine = b}).node(), b);
}

TEST(Affinity, SourceAffinityHashesTheKeyOverUsableNodes) {
  Pool pool(pool_settings(Affinity::Source), nullptr);
  FastRandom rng(7);
  std::map<Node*, int> seen;
  for (int k = 0; k < 300; ++k) {
    const std::string key = "192.0.2." + std::to_string(k);
    Node* first = pool.pick({.random = rng, .affinity_key = key}).node();
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(pool.pick({.random = rng, .affinity_key = key}).node(), first);
    ++seen[first];
    first->set_health(Health::Down);
    Node* moved = pool.pick({.random = rng, .affinity_key = key}).node();
    EXPECT_NE(moved, first);
    EXPECT_NE(moved, nullptr);
    first->set_health(Health::Up);
  }
  EXPECT_EQ(seen.size(), 3u);
  // Without affinity the key is ignored: the balancer spreads.
  Pool plain(pool_settings(Affinity::None), nullptr);
  std::map<Node*, int> spread;
  for (int i = 0; i < 60; ++i) ++spread[plain.pick({.random = rng, .affinity_key = "k"}).node()];
  EXPECT_EQ(spread.size(), 3u);
}

TEST(AffinityCount, CountsTheLastMinute) {
  AffinityCount c;
  const Clock::time_point t0(std::chrono::hours(1000));
  EXPECT_EQ(c.last_minute(t0), 0u);
  EXPECT_FALSE(c.last());
  c.record(t0);
  c.record(t0 + 100ms);
  c.record(t0 + 30s);
  EXPECT_EQ(c.last_minute(t0 + 30s), 3u);
  EXPECT_EQ(c.last(), t0 + 30s);
  EXPECT_EQ(c.last_minute(t0 + 61s), 1u);
  EXPECT_EQ(c.last_minute(t0 + 95s), 0u);
  // A slot reused a minute later starts again.
  c.record(t0 + 60s);
  EXPECT_EQ(c.last_minute(t0 + 60s), 2u);
}

}  // namespace
}  // namespace routing
