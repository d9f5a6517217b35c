#include "routing/rendezvous.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "routing/node.h"
#include "routing/settings.h"

namespace routing::rendezvous {
namespace {

// The names are string literals: Candidate only views its identity.
std::vector<Candidate> candidates(const std::vector<std::string_view>& names,
                                  const std::vector<uint32_t>& weights) {
  std::vector<Candidate> c;
  for (size_t i = 0; i < names.size(); ++i) c.push_back({names[i], weights[i]});
  return c;
}

TEST(Rendezvous, HashIsDeterministicAndSpreads) {
  EXPECT_EQ(hash("alice"), hash(std::string("alice")));
  EXPECT_NE(hash("alice"), hash("alicf"));
  EXPECT_NE(hash(""), hash(std::string_view("\0", 1)));
  // The same bytes at another alignment hash the same (bytes are read one by one).
  std::string buf = "xx0123456789abcdefghij";
  EXPECT_EQ(hash(std::string_view(buf).substr(2)), hash("0123456789abcdefghij"));
  EXPECT_EQ(hash(std::string_view(buf).substr(1, 9)), hash("x01234567"));
  // Every output bit is set about half the time.
  std::vector<int> ones(64, 0);
  constexpr int kKeys = 20000;
  for (int i = 0; i < kKeys; ++i) {
    const uint64_t h = combine(hash("10.0.0." + std::to_string(i)), hash("node1"));
    for (int b = 0; b < 64; ++b) ones[b] += (h >> b) & 1;
  }
  for (int b = 0; b < 64; ++b) {
    EXPECT_GT(ones[b], kKeys * 0.47) << "bit " << b;
    EXPECT_LT(ones[b], kKeys * 0.53) << "bit " << b;
  }
}

TEST(Rendezvous, UnitStaysInsideTheOpenInterval) {
  EXPECT_GT(unit(0), 0.0);
  EXPECT_LT(unit(~uint64_t{0}), 1.0);
  EXPECT_GT(score(hash("k"), hash("n"), 1), 0.0);
  EXPECT_EQ(score(hash("k"), hash("n"), 0), 0.0);
  // A heavier node scores higher for the same draw.
  EXPECT_GT(score(hash("k"), hash("n"), 2), score(hash("k"), hash("n"), 1));
}

TEST(Rendezvous, OrderIsAPermutationIndependentOfTheInputOrder) {
  auto c = candidates({"a", "b", "c", "d"}, {1, 2, 1, 3});
  for (int k = 0; k < 500; ++k) {
    const std::string key = "user" + std::to_string(k);
    std::vector<size_t> o = order(key, c);
    ASSERT_EQ(o.size(), 4u);
    EXPECT_EQ(std::set<size_t>(o.begin(), o.end()).size(), 4u);
    // The same candidates listed backwards: the same identities in the same order.
    std::vector<Candidate> rev(c.rbegin(), c.rend());
    std::vector<size_t> r = order(key, rev);
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(c[o[i]].identity, rev[r[i]].identity);
    // Best first: scores do not increase along the order.
    for (size_t i = 1; i < 4; ++i)
      EXPECT_GE(score(hash(key), hash(c[o[i - 1]].identity), c[o[i - 1]].weight),
                score(hash(key), hash(c[o[i]].identity), c[o[i]].weight));
  }
}

TEST(Rendezvous, SharesFollowTheWeights) {
  auto c = candidates({"n1", "n2", "n3", "n4"}, {1, 2, 3, 4});
  std::map<size_t, int> won;
  constexpr int kKeys = 100000;
  for (int k = 0; k < kKeys; ++k) ++won[order("203.0.113." + std::to_string(k), c)[0]];
  for (size_t i = 0; i < c.size(); ++i) {
    const double expected = kKeys * c[i].weight / 10.0;
    EXPECT_NEAR(won[i], expected, expected * 0.03) << c[i].identity;
  }
}

TEST(Rendezvous, RemovingANodeMovesOnlyItsKeys) {
  auto all = candidates({"n1", "n2", "n3", "n4"}, {1, 1, 2, 1});
  auto without = candidates({"n1", "n2", "n4"}, {1, 1, 1});
  int moved = 0;
  std::map<std::string_view, int> took;
  constexpr int kKeys = 50000;
  for (int k = 0; k < kKeys; ++k) {
    const std::string key = "k" + std::to_string(k);
    std::string_view before = all[order(key, all)[0]].identity;
    std::string_view after = without[order(key, without)[0]].identity;
    if (before != "n3") {
      EXPECT_EQ(before, after) << key;
    } else {
      ++moved;
      ++took[after];
      // It goes to its second choice among all.
      EXPECT_EQ(after, all[order(key, all)[1]].identity);
    }
  }
  // n3 had 2/5 of the keys; the others share them evenly.
  EXPECT_NEAR(moved, kKeys * 0.4, kKeys * 0.4 * 0.03);
  for (auto name : {"n1", "n2", "n4"}) EXPECT_NEAR(took[name], moved / 3.0, moved / 3.0 * 0.06);
}

class NodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto [name, w] :
         std::vector<std::pair<std::string, uint32_t>>{{"a", 1}, {"b", 1}, {"c", 2}}) {
      NodeSettings s;
      s.name = name;
      s.address = "10.0.0.1:80";
      s.weight = w;
      owned.push_back(std::make_unique<Node>(s));
      nodes.push_back(owned.back().get());
    }
  }
  std::vector<std::unique_ptr<Node>> owned;
  std::vector<Node*> nodes;
};

TEST_F(NodesTest, NodeOrderHashesTheNamesAndWeights) {
  auto c = candidates({"a", "b", "c"}, {1, 1, 2});
  for (int k = 0; k < 200; ++k) {
    const std::string key = "u" + std::to_string(k);
    std::vector<Node*> o = order(key, nodes);
    std::vector<size_t> expect = order(key, c);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(o[i]->name(), c[expect[i]].identity);
    EXPECT_EQ(best_usable(key, nodes), o[0]);
  }
}

TEST_F(NodesTest, UnusableAndExcludedNodesAreSkipped) {
  for (int k = 0; k < 200; ++k) {
    const std::string key = "u" + std::to_string(k);
    std::vector<Node*> o = order(key, nodes);
    o[0]->set_health(Health::Down);
    EXPECT_EQ(best_usable(key, nodes), o[1]);
    o[1]->set_admin(Admin::Draining);
    EXPECT_EQ(best_usable(key, nodes), o[2]);
    const Node* tried[] = {o[2]};
    EXPECT_EQ(best_usable(key, nodes, tried), nullptr);
    o[0]->set_health(Health::Up);
    EXPECT_EQ(best_usable(key, nodes, tried), o[0]);
    o[1]->set_admin(Admin::Active);
  }
}

}  // namespace
}  // namespace routing::rendezvous
