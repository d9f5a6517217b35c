// The connector's rules against a scripted transport (no sockets): every retry rule of the
// README's "Failures and bad input" section that concerns getting to a node.
#include "proxy/upstream/connector.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace proxy::upstream {
namespace {

namespace asio = boost::asio;
using routing::ConnectError;

struct FakeConnection {
  std::string node;
  bool open = true;
};

// Dials succeed unless a node has failures scripted; idle connections are whatever a test puts
// there. Records every dial and every drop.
struct FakeTransport {
  using Connection = FakeConnection;

  std::map<std::string, std::deque<ConnectError>> failures;  // next dial outcomes per node
  std::map<std::string, std::vector<std::unique_ptr<FakeConnection>>> idle;
  std::vector<std::string> dials;
  std::vector<std::string> drops;

  std::unique_ptr<FakeConnection> take_idle(routing::Node& node) {
    auto& v = idle[node.name()];
    if (v.empty()) return nullptr;
    auto c = std::move(v.back());
    v.pop_back();
    return c;
  }
  static bool still_open(FakeConnection& c) { return c.open; }
  bool stopped() const { return stop; }
  bool stop = false;
  void drop_idle(routing::Node& node) {
    idle.erase(node.name());
    drops.push_back(node.name());
  }
  asio::awaitable<DialResult> dial(routing::Node& node, std::unique_ptr<FakeConnection>& out) {
    dials.push_back(node.name());
    auto& f = failures[node.name()];
    if (!f.empty()) {
      ConnectError e = f.front();
      f.pop_front();
      co_return DialResult{e};
    }
    out = std::make_unique<FakeConnection>(FakeConnection{node.name()});
    co_return DialResult{std::nullopt, std::chrono::milliseconds(1)};
  }
};

// Never replaces a tied candidate: the least-loaded balancer picks the first of the nodes with
// the least load, so picks are predictable.
struct KeepFirst final : routing::Random {
  uint32_t below(uint32_t bound) override { return bound - 1; }
};

class ConnectorTest : public ::testing::Test {
 protected:
  using TestConnector = Connector<FakeTransport>;

  void make_pool(size_t nodes, uint32_t passive_failures = 0) {
    routing::PoolSettings s;
    s.name = "web";
    s.health.passive_failures = passive_failures;
    for (size_t i = 0; i < nodes; ++i)
      s.nodes.push_back({.name = "n" + std::to_string(i), .address = "127.0.0.1:1"});
    pool_ = std::make_unique<routing::Pool>(std::move(s), nullptr);
  }
  routing::Node& node(size_t i) { return *pool_->nodes()[i]; }
  routing::NodeTraffic& traffic(size_t i) { return node(i).traffic(0); }
  uint64_t connect_count(size_t i) {
    uint64_t n = 0;
    for (size_t b = 0; b < routing::ConnectHistogram::kBuckets; ++b)
      n += traffic(i).connect_time.bucket(b);
    return n;
  }

  template <class T>
  T run(asio::awaitable<T> a) {
    std::optional<T> result;
    asio::co_spawn(ctx_, std::move(a), [&](std::exception_ptr e, T v) {
      if (e) std::rethrow_exception(e);
      result = v;
    });
    ctx_.restart();
    ctx_.run();
    return *result;
  }

  asio::io_context ctx_;
  FakeTransport transport_;
  KeepFirst random_;
  TestConnector connector_{transport_, random_, 0};
  std::unique_ptr<routing::Pool> pool_;
};

TEST(RetryPolicy, FollowsTheRules) {
  // A stale pooled connection: a fresh one to the same node, whatever the request.
  EXPECT_EQ(after_failure({.reused = true, .whole_head_sent = true}), Recovery::FreshOnSameNode);
  EXPECT_EQ(after_failure({.reused = true, .replayed = true, .whole_head_sent = true}),
            Recovery::FreshOnSameNode);
  // A fresh connection that died: GET/HEAD go once to another node.
  EXPECT_EQ(after_failure({.whole_head_sent = true, .idempotent = true}), Recovery::OtherNode);
  EXPECT_EQ(after_failure({.replayed = true, .whole_head_sent = true, .idempotent = true}),
            Recovery::GiveUp);
  // Other methods only when the node cannot have seen the request.
  EXPECT_EQ(after_failure({.whole_head_sent = true}), Recovery::GiveUp);
  EXPECT_EQ(after_failure({.whole_head_sent = false}), Recovery::OtherNode);
  EXPECT_EQ(after_failure({.replayed = true, .whole_head_sent = false}), Recovery::GiveUp);
}

TEST_F(ConnectorTest, ConnectsToThePickedNode) {
  make_pool(2);
  TestConnector::Attempt a(*pool_);
  ASSERT_TRUE(run(connector_.connect(a, true, false)));
  EXPECT_EQ(a.conn->node, "n0");
  EXPECT_EQ(a.node(), &node(0));
  EXPECT_FALSE(a.reused);
  EXPECT_EQ(node(0).in_flight(), 1u);  // the lease counts as load while held
  EXPECT_EQ(transport_.dials, std::vector<std::string>{"n0"});
  EXPECT_EQ(connect_count(0), 1u);
}

TEST_F(ConnectorTest, RefusedConnectMovesToAnotherNode) {
  make_pool(2, 3);
  transport_.failures["n0"] = {ConnectError::Refused};
  TestConnector::Attempt a(*pool_);
  ASSERT_TRUE(run(connector_.connect(a, true, false)));
  EXPECT_EQ(a.conn->node, "n1");
  EXPECT_EQ((std::vector<std::string>{"n0", "n1"}), transport_.dials);
  EXPECT_EQ(traffic(0).connect_errors[size_t(ConnectError::Refused)].get(), 1u);
  EXPECT_EQ(traffic(0).retries.get(), 1u);  // the request moved on from n0
  EXPECT_EQ(node(0).in_flight(), 0u);
  EXPECT_EQ(node(0).passive().streak(), 1u);  // reported to passive checks
}

TEST_F(ConnectorTest, AnAttemptMayChooseItsOwnNodes) {
  // A front that picks by its own rule (a mail user's node) instead of the balancer's: each
  // try is asked with the nodes tried so far.
  make_pool(3);
  transport_.failures["n2"] = {ConnectError::Refused};
  TestConnector::Attempt a(*pool_);
  std::vector<size_t> excluded_seen;
  a.pick = [&](const routing::PickContext& ctx) {
    excluded_seen.push_back(ctx.exclude.size());
    return routing::NodeLease(ctx.exclude.empty() ? &node(2) : &node(1));
  };
  ASSERT_TRUE(run(connector_.connect(a, false, false)));
  EXPECT_EQ(a.conn->node, "n1");
  EXPECT_EQ((std::vector<std::string>{"n2", "n1"}), transport_.dials);
  EXPECT_EQ(excluded_seen, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(node(1).in_flight(), 1u);
  EXPECT_EQ(node(2).in_flight(), 0u);
}

TEST_F(ConnectorTest, EveryNodeRefusingIsNoUsableNode) {
  make_pool(3);
  for (auto n : {"n0", "n1", "n2"}) transport_.failures[n] = {ConnectError::Refused};
  TestConnector::Attempt a(*pool_);
  EXPECT_FALSE(run(connector_.connect(a, true, false)));
  EXPECT_EQ(a.failure(), NoConnection::NoUsableNode);  // 503
  EXPECT_EQ(transport_.dials.size(), 3u);              // each node once
  EXPECT_FALSE(a.lease);
}

TEST_F(ConnectorTest, ATimedOutConnectMakesIt504) {
  make_pool(2);
  transport_.failures["n0"] = {ConnectError::Timeout};
  transport_.failures["n1"] = {ConnectError::Refused};
  TestConnector::Attempt a(*pool_);
  EXPECT_FALSE(run(connector_.connect(a, true, false)));
  EXPECT_EQ(a.failure(), NoConnection::Timeout);
  EXPECT_EQ(traffic(0).connect_errors[size_t(ConnectError::Timeout)].get(), 1u);
}

TEST_F(ConnectorTest, TriesAtMostKMaxTriesNodes) {
  make_pool(kMaxTries + 3);
  for (size_t i = 0; i < kMaxTries + 3; ++i)
    transport_.failures["n" + std::to_string(i)] = {ConnectError::Other};
  TestConnector::Attempt a(*pool_);
  EXPECT_FALSE(run(connector_.connect(a, true, false)));
  EXPECT_EQ(transport_.dials.size(), kMaxTries);
}

TEST_F(ConnectorTest, NoUsableNodeDialsNothing) {
  make_pool(2);
  node(0).set_health(routing::Health::Down);
  node(1).set_admin(routing::Admin::Draining);
  TestConnector::Attempt a(*pool_);
  EXPECT_FALSE(run(connector_.connect(a, true, false)));
  EXPECT_EQ(a.failure(), NoConnection::NoUsableNode);
  EXPECT_TRUE(transport_.dials.empty());
}

TEST_F(ConnectorTest, AStoppingFrontTriesNoFurtherNode) {
  make_pool(2);
  transport_.failures["n0"] = {ConnectError::Refused};
  transport_.stop = true;
  TestConnector::Attempt a(*pool_);
  EXPECT_FALSE(run(connector_.connect(a, false, false)));
  EXPECT_TRUE(transport_.dials.empty());
}

TEST_F(ConnectorTest, PassiveFailuresTakeTheNodeDown) {
  make_pool(2, 2);
  transport_.failures["n0"] = {ConnectError::Refused, ConnectError::Refused};
  for (int i = 0; i < 2; ++i) {
    TestConnector::Attempt a(*pool_);
    ASSERT_TRUE(run(connector_.connect(a, false, false)));
  }
  EXPECT_EQ(node(0).health(), routing::Health::Down);
}

TEST_F(ConnectorTest, ReusesAnIdleConnection) {
  make_pool(1);
  transport_.idle["n0"].push_back(std::make_unique<FakeConnection>(FakeConnection{"n0"}));
  TestConnector::Attempt a(*pool_);
  ASSERT_TRUE(run(connector_.connect(a, true, false)));
  EXPECT_TRUE(a.reused);
  EXPECT_TRUE(transport_.dials.empty());
}

TEST_F(ConnectorTest, ABodyNeverGoesOnAnIdleConnectionTheNodeClosed) {
  make_pool(1);
  transport_.idle["n0"].push_back(
      std::make_unique<FakeConnection>(FakeConnection{"n0", /*open=*/false}));
  TestConnector::Attempt a(*pool_);
  ASSERT_TRUE(run(connector_.connect(a, true, /*check_idle=*/true)));
  EXPECT_FALSE(a.reused);
  EXPECT_EQ(transport_.dials, std::vector<std::string>{"n0"});
}

TEST_F(ConnectorTest, AStalePooledConnectionIsReplacedOnTheSameNode) {
  make_pool(2, 3);
  transport_.idle["n0"].push_back(std::make_unique<FakeConnection>(FakeConnection{"n0"}));
  transport_.idle["n0"].push_back(std::make_unique<FakeConnection>(FakeConnection{"n0"}));
  TestConnector::Attempt a(*pool_);
  ASSERT_TRUE(run(connector_.connect(a, true, false)));
  ASSERT_TRUE(a.reused);
  // The node closed it before answering a POST whose head had left whole.
  ASSERT_TRUE(run(connector_.recover(a, true, false)));
  EXPECT_EQ(a.conn->node, "n0");
  EXPECT_FALSE(a.reused);
  EXPECT_FALSE(a.replayed);  // the replay on another node is still there
  EXPECT_EQ(transport_.drops, std::vector<std::string>{"n0"});  // its idle siblings are gone
  EXPECT_TRUE(transport_.idle["n0"].empty());
  EXPECT_EQ(node(0).passive().streak(), 0u);
}

TEST_F(ConnectorTest, AStaleConnectionWhoseNodeRefusesGoesToAnotherNode) {
  make_pool(2, 3);
  transport_.idle["n0"].push_back(std::make_unique<FakeConnection>(FakeConnection{"n0"}));
  TestConnector::Attempt a(*pool_);
  ASSERT_TRUE(run(connector_.connect(a, true, false)));
  transport_.failures["n0"] = {ConnectError::Refused};
  ASSERT_TRUE(run(connector_.recover(a, true, false)));
  EXPECT_EQ(a.conn->node, "n1");
  EXPECT_EQ(node(0).passive().streak(), 1u);
  EXPECT_EQ(traffic(0).retries.get(), 1u);
}

TEST_F(ConnectorTest, AGetOnAFreshConnectionThatDiedGoesOnceToAnotherNode) {
  make_pool(3, 3);
  TestConnector::Attempt a(*pool_);
  ASSERT_TRUE(run(connector_.connect(a, true, false)));
  ASSERT_EQ(a.conn->node, "n0");
  ASSERT_TRUE(run(connector_.recover(a, true, /*idempotent=*/true)));
  EXPECT_EQ(a.conn->node, "n1");
  EXPECT_TRUE(a.replayed);
  EXPECT_EQ(node(0).passive().streak(), 1u);  // a fresh connection that died: node failing
  // It dies there too: no second replay (502).
  EXPECT_FALSE(run(connector_.recover(a, true, true)));
}

TEST_F(ConnectorTest, APostOnAFreshConnectionThatDiedIsNotReplayed) {
  make_pool(2);
  TestConnector::Attempt a(*pool_);
  ASSERT_TRUE(run(connector_.connect(a, true, false)));
  EXPECT_FALSE(run(connector_.recover(a, /*whole_head_sent=*/true, /*idempotent=*/false)));
  EXPECT_EQ(transport_.dials.size(), 1u);
}

TEST_F(ConnectorTest, APostWhoseHeadNeverLeftWholeGoesToAnotherNode) {
  make_pool(2);
  TestConnector::Attempt a(*pool_);
  ASSERT_TRUE(run(connector_.connect(a, true, false)));
  ASSERT_TRUE(run(connector_.recover(a, /*whole_head_sent=*/false, false)));
  EXPECT_EQ(a.conn->node, "n1");
}

TEST_F(ConnectorTest, AReplayFindsNoOtherNode) {
  make_pool(1);
  TestConnector::Attempt a(*pool_);
  ASSERT_TRUE(run(connector_.connect(a, true, false)));
  EXPECT_FALSE(run(connector_.recover(a, true, true)));
  EXPECT_FALSE(a.lease);
}

TEST_F(ConnectorTest, ANodeThatClosedBeforeItsFirstByteIsLeftForAnother) {
  // A TCP session: the node accepted, then closed unanswered (a mail server stopping).
  make_pool(2, 3);
  TestConnector::Attempt a(*pool_);
  ASSERT_TRUE(run(connector_.connect(a, false, false)));
  connector_.node_failed(a);
  EXPECT_EQ(node(0).passive().streak(), 1u);
  ASSERT_TRUE(run(connector_.connect(a, false, false)));
  EXPECT_EQ(a.conn->node, "n1");
  EXPECT_EQ(traffic(0).retries.get(), 1u);
}

TEST_F(ConnectorTest, SuccessClearsAPassiveFailureRun) {
  make_pool(2, 3);
  transport_.failures["n0"] = {ConnectError::Refused};
  {
    TestConnector::Attempt a(*pool_);
    ASSERT_TRUE(run(connector_.connect(a, false, false)));
  }
  EXPECT_EQ(node(0).passive().streak(), 1u);
  TestConnector::Attempt b(*pool_);
  ASSERT_TRUE(run(connector_.connect(b, false, false)));
  ASSERT_EQ(b.node(), &node(0));
  connector_.succeeded(b);
  EXPECT_EQ(node(0).passive().streak(), 0u);
}

}  // namespace
}  // namespace proxy::upstream
