#include "routing/user_affinity.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "routing/rendezvous.h"

namespace routing {
namespace {

// A mail pool: one node per (ip, weight), all on `port`.
class MailPool {
 public:
  MailPool(std::vector<std::pair<std::string, uint32_t>> nodes, uint16_t port) {
    for (auto& [ip, weight] : nodes) {
      NodeSettings s;
      s.address = ip + ":" + std::to_string(port);
      s.name = "n-" + ip;
      s.ip = boost::asio::ip::make_address(ip);
      s.port = port;
      s.weight = weight;
      owned_.push_back(std::make_unique<Node>(s));
      raw_.push_back(owned_.back().get());
    }
  }
  std::span<Node* const> nodes() const { return raw_; }
  Node* by_ip(std::string_view ip) const {
    for (Node* n : raw_)
      if (user_node_identity(*n) == ip) return n;
    return nullptr;
  }

 private:
  std::vector<std::unique_ptr<Node>> owned_;
  std::vector<Node*> raw_;
};

const std::vector<std::pair<std::string, uint32_t>> kThree = {
    {"10.0.0.1", 1}, {"10.0.0.2", 1}, {"10.0.0.3", 2}};

std::string user(int i) {
  return "member" + std::to_string(i) + "@example.coop";
}

TEST(UserKey, LowerCasesAndOptionallyStripsTheDomain) {
  EXPECT_EQ(user_key("Alice@Example.COOP"), "alice@example.coop");
  EXPECT_EQ(user_key("Alice@Example.COOP", UserKey::LocalPart), "alice");
  EXPECT_EQ(user_key("a@b@Example.coop", UserKey::LocalPart), "a@b");
  EXPECT_EQ(user_key("bob", UserKey::LocalPart), "bob");
  EXPECT_EQ(user_key("Élise"), "Élise");  // bytes beyond ASCII are kept
}

TEST(UserAffinity, NodeIdentityIsTheAddressWithoutPort) {
  MailPool imap({{"10.0.0.1", 1}}, 143);
  MailPool v6({{"2001:db8::1", 1}}, 110);
  EXPECT_EQ(user_node_identity(*imap.nodes()[0]), "10.0.0.1");
  EXPECT_EQ(user_node_identity(*v6.nodes()[0]), "2001:db8::1");
}

TEST(UserAffinity, FirstChoiceIsTheRendezvousOrderOfTheIps) {
  MailPool pool(kThree, 143);
  UserAffinity ua;
  std::vector<rendezvous::Candidate> c;
  for (auto& [ip, w] : kThree) c.push_back({ip, w});
  for (int i = 0; i < 200; ++i) {
    const std::string u = user(i);
    UserLease l = ua.choose(u, pool.nodes());
    ASSERT_TRUE(l);
    EXPECT_EQ(l.reason(), UserChoice::Rendezvous);
    EXPECT_EQ(user_node_identity(*l.node()), c[rendezvous::order(u, c)[0]].identity);
  }
  EXPECT_EQ(ua.users(), 0u);
}

TEST(UserAffinity, SameUserSticksWhileOpen) {
  MailPool pool(kThree, 143);
  UserAffinity ua;
  UserLease first = ua.choose("alice", pool.nodes());
  Node* home = first.node();
  // Load the user's node far over the bound: the user stays anyway.
  std::vector<NodeLease> load;
  for (int i = 0; i < 50; ++i) load.emplace_back(home);
  std::vector<UserLease> more;
  for (int i = 0; i < 5; ++i) {
    more.push_back(ua.choose("alice", pool.nodes()));
    EXPECT_EQ(more.back().node(), home);
    EXPECT_EQ(more.back().reason(), UserChoice::OpenSessions);
  }
  EXPECT_EQ(ua.sessions("alice"), 6u);
  EXPECT_EQ(home->in_flight(), 56u);
  UserAffinityExplanation w = ua.where("alice", pool.nodes());
  EXPECT_EQ(w.node, home);
  EXPECT_EQ(w.reason, UserChoice::OpenSessions);
  EXPECT_EQ(w.open_sessions, 6u);
  ASSERT_EQ(w.order.size(), 3u);
  for (const UserNodeView& v : w.order) EXPECT_EQ(v.user_sessions, v.node == home ? 6u : 0u);
  // Once every session ended, the user is a new user: over the bound, the next node.
  first.release();
  more.clear();
  EXPECT_EQ(ua.sessions("alice"), 0u);
  EXPECT_EQ(home->in_flight(), 50u);
  UserLease again = ua.choose("alice", pool.nodes());
  EXPECT_NE(again.node(), home);
  EXPECT_EQ(again.reason(), UserChoice::LoadBound);
}

TEST(UserAffinity, OneMachineAcrossProtocols) {
  // The POP3 pool weighs the nodes otherwise: its own first choice may differ, but a user with
  // an IMAP session open on 10.0.0.x gets 10.0.0.x.
  MailPool imap(kThree, 143);
  MailPool pop3({{"10.0.0.1", 5}, {"10.0.0.2", 1}, {"10.0.0.3", 1}}, 110);
  UserAffinity ua;
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string u = user(i);
    UserLease a = ua.choose(u, imap.nodes());
    const std::string ip = user_node_identity(*a.node());
    // The POP3 pool's own order for the user (where() lists it whatever the choice).
    if (ua.where(u, pop3.nodes()).order[0].identity != ip) ++differ;
    UserLease b = ua.choose(u, pop3.nodes());
    EXPECT_EQ(user_node_identity(*b.node()), ip) << u;
    EXPECT_EQ(b.node()->settings().port, 110);
  }
  EXPECT_GT(differ, 0);  // the test did not only see users that agree anyway
}

TEST(UserAffinity, UsersSpreadByWeight) {
  MailPool pool(kThree, 143);
  UserAffinity ua;
  // Sessions held: the load bound plays too.
  std::vector<UserLease> held;
  for (int i = 0; i < 1000; ++i) held.push_back(ua.choose(user(i), pool.nodes()));
  std::map<std::string, int> per;
  for (const UserLease& l : held) ++per[user_node_identity(*l.node())];
  EXPECT_NEAR(per["10.0.0.1"], 250, 250 * 0.15);
  EXPECT_NEAR(per["10.0.0.2"], 250, 250 * 0.15);
  EXPECT_NEAR(per["10.0.0.3"], 500, 500 * 0.15);
  EXPECT_EQ(ua.users(), 1000u);
  held.clear();
  EXPECT_EQ(ua.users(), 0u);
  for (Node* n : pool.nodes()) EXPECT_EQ(n->in_flight(), 0u);
  // Without open sessions (nobody else connected), the rendezvous order alone.
  per.clear();
  for (int i = 0; i < 1000; ++i)
    ++per[user_node_identity(*ua.choose(user(i), pool.nodes()).node())];
  EXPECT_NEAR(per["10.0.0.1"], 250, 250 * 0.15);
  EXPECT_NEAR(per["10.0.0.2"], 250, 250 * 0.15);
  EXPECT_NEAR(per["10.0.0.3"], 500, 500 * 0.15);
}

TEST(UserAffinity, TwoInstancesAgreeWithoutSharedState) {
  MailPool a(kThree, 143);
  MailPool b({{"10.0.0.3", 2}, {"10.0.0.1", 1}, {"10.0.0.2", 1}}, 143);  // listed otherwise
  UserAffinity ua, ub;
  for (int i = 0; i < 1000; ++i) {
    UserLease la = ua.choose(user(i), a.nodes());
    UserLease lb = ub.choose(user(i), b.nodes());
    EXPECT_EQ(user_node_identity(*la.node()), user_node_identity(*lb.node())) << user(i);
  }
}

TEST(UserAffinity, DownNodeMovesItsUsersWhoReturnOnlyWhenTheirSessionsEnd) {
  MailPool pool(kThree, 143);
  UserAffinity ua;
  UserLease s1 = ua.choose("alice", pool.nodes());
  Node* home = s1.node();
  UserAffinityExplanation w0 = ua.where("alice", pool.nodes());
  ASSERT_EQ(w0.order[0].node, home);
  Node* second = w0.order[1].node;

  home->set_health(Health::Down);
  UserLease s2 = ua.choose("alice", pool.nodes());
  EXPECT_EQ(s2.node(), second);  // the next node of her order
  EXPECT_EQ(s2.reason(), UserChoice::Rendezvous);
  EXPECT_EQ(ua.where("alice", pool.nodes()).choice, 2u);

  home->set_health(Health::Up);  // back, while s1 (on it) and s2 are still open
  UserLease s3 = ua.choose("alice", pool.nodes());
  EXPECT_EQ(s3.node(), second);  // never two nodes at once: the most recent one
  EXPECT_EQ(s3.reason(), UserChoice::OpenSessions);
  s1.release();
  s2.release();
  EXPECT_EQ(ua.choose("alice", pool.nodes()).node(), second);  // s3 still open
  s3.release();
  UserLease s4 = ua.choose("alice", pool.nodes());
  EXPECT_EQ(s4.node(), home);  // all ended: her first node again
  EXPECT_EQ(s4.reason(), UserChoice::Rendezvous);

  // Draining and maintenance move new sessions the same way.
  s4.release();
  home->set_admin(Admin::Draining);
  EXPECT_EQ(ua.choose("alice", pool.nodes()).node(), second);
  home->set_admin(Admin::Maintenance);
  EXPECT_EQ(ua.where("alice", pool.nodes()).node, second);
  home->set_admin(Admin::Active);
  EXPECT_EQ(ua.where("alice", pool.nodes()).node, home);
}

TEST(UserAffinity, DrainingNodeKeepsNoNewUserButItsOpenSessionsCount) {
  MailPool pool(kThree, 143);
  UserAffinity ua;
  UserLease s1 = ua.choose("bob", pool.nodes());
  Node* home = s1.node();
  home->set_admin(Admin::Draining);
  // The open session stays where it is (the lease is not touched); the next one goes elsewhere.
  UserLease s2 = ua.choose("bob", pool.nodes());
  EXPECT_NE(s2.node(), home);
  const auto on_home = ua.on_identity(user_node_identity(*home));
  EXPECT_EQ(on_home.users, 1u);
  EXPECT_EQ(on_home.sessions, 1u);
  EXPECT_TRUE(on_home.names.empty());
}

TEST(UserAffinity, UsersOnANodeAreNamedInOrderUpToALimit) {
  MailPool pool({{"10.0.0.1", 1}}, 143);
  UserAffinity ua;
  std::vector<UserLease> held;
  for (const char* u : {"dave", "alice", "carol", "bob"})
    held.push_back(ua.choose(u, pool.nodes()));
  held.push_back(ua.choose("alice", pool.nodes()));
  const auto two = ua.on_identity("10.0.0.1", 2);
  EXPECT_EQ(two.users, 4u);
  EXPECT_EQ(two.sessions, 5u);
  EXPECT_EQ(two.names, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(ua.on_identity("10.0.0.1", 10).names.size(), 4u);
  EXPECT_EQ(ua.on_identity("10.0.0.2", 10).users, 0u);
  held.clear();
  EXPECT_EQ(ua.on_identity("10.0.0.1", 10).users, 0u);
}

TEST(UserAffinity, LoadBoundIsRespected) {
  MailPool pool({{"10.0.0.1", 1}, {"10.0.0.2", 1}}, 143);
  UserAffinity ua;
  Node* a = pool.by_ip("10.0.0.1");
  Node* b = pool.by_ip("10.0.0.2");
  // Users whose first choice is a.
  std::vector<std::string> prefer_a;
  for (int i = 0; prefer_a.size() < 40; ++i)
    if (ua.where(user(i), pool.nodes()).order[0].node == a) prefer_a.push_back(user(i));
  std::vector<UserLease> held;
  for (const std::string& u : prefer_a) {
    // Before each choice: a is within 1.25 x the average per weight, or the user goes to b.
    const double avg = (a->in_flight() + b->in_flight()) / 2.0;
    const bool a_ok = a->in_flight() <= 1.25 * avg;
    UserAffinityExplanation w = ua.where(u, pool.nodes());
    held.push_back(ua.choose(u, pool.nodes()));
    EXPECT_EQ(held.back().node(), a_ok ? a : b);
    EXPECT_EQ(held.back().reason(), a_ok ? UserChoice::Rendezvous : UserChoice::LoadBound);
    EXPECT_EQ(w.node, held.back().node());
    EXPECT_EQ(w.choice, a_ok ? 1u : 2u);
    EXPECT_DOUBLE_EQ(w.bound, 1.25 * avg);
  }
  // All of them prefer a, yet a carries at most 1.25 x the average (+ the one that crossed it).
  EXPECT_LE(a->in_flight(), 1.25 * (a->in_flight() + b->in_flight()) / 2.0 + 1);
  EXPECT_GT(b->in_flight(), 10u);
  // A larger factor lets more stay on their first choice.
  held.clear();
  for (const std::string& u : prefer_a) held.push_back(ua.choose(u, pool.nodes(), 3.0));
  EXPECT_GT(a->in_flight(), 25u);
}

TEST(UserAffinity, NoUsableNodeGivesAnEmptyLease) {
  MailPool pool({{"10.0.0.1", 1}}, 143);
  UserAffinity ua;
  pool.nodes()[0]->set_health(Health::Down);
  UserLease l = ua.choose("alice", pool.nodes());
  EXPECT_FALSE(l);
  EXPECT_EQ(l.reason(), UserChoice::None);
  EXPECT_EQ(ua.users(), 0u);
  UserAffinityExplanation w = ua.where("alice", pool.nodes());
  EXPECT_EQ(w.node, nullptr);
  EXPECT_EQ(w.choice, 0u);
  ASSERT_EQ(w.order.size(), 1u);
  EXPECT_FALSE(w.order[0].usable);
  EXPECT_EQ(to_string(w.reason), "none");
}

TEST(UserAffinity, LeasesMove) {
  MailPool pool(kThree, 143);
  UserAffinity ua;
  UserLease a = ua.choose("alice", pool.nodes());
  Node* n = a.node();
  UserLease b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(b.node(), n);
  EXPECT_EQ(ua.sessions("alice"), 1u);
  UserLease c;
  c = std::move(b);
  EXPECT_EQ(ua.sessions("alice"), 1u);
  EXPECT_EQ(n->in_flight(), 1u);
  c = UserLease();
  EXPECT_EQ(ua.sessions("alice"), 0u);
  EXPECT_EQ(n->in_flight(), 0u);
}

TEST(UserAffinity, LoadHandedToAConnectionIsCountedOnce) {
  MailPool pool(kThree, 143);
  UserAffinity ua;
  UserLease a = ua.choose("alice", pool.nodes());
  Node* n = a.node();
  NodeLease load = a.take_load();
  EXPECT_EQ(load.node(), n);
  EXPECT_EQ(a.node(), n);
  EXPECT_EQ(n->in_flight(), 1u);
  load.release();  // the connection ends first: the user's session is still open
  EXPECT_EQ(n->in_flight(), 0u);
  EXPECT_EQ(ua.sessions("alice"), 1u);
  EXPECT_EQ(ua.choose("alice", pool.nodes()).node(), n);
  a.release();
  EXPECT_EQ(ua.sessions("alice"), 0u);
  EXPECT_EQ(n->in_flight(), 0u);
}

TEST(UserAffinity, ConcurrentSessionsOfOneUserShareANode) {
  MailPool pool(kThree, 143);
  UserAffinity ua;
  std::atomic<int> split{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3000; ++i) {
        const std::string u = user((i * 7 + t) % 40);
        UserLease a = ua.choose(u, pool.nodes());
        UserLease b = ua.choose(u, pool.nodes());
        if (!a || a.node() != b.node()) split.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(split.load(), 0);
  EXPECT_EQ(ua.users(), 0u);
  for (Node* n : pool.nodes()) EXPECT_EQ(n->in_flight(), 0u);
}

}  // namespace
}  // namespace routing
