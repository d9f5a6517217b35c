#include "proxy/health/health_checker.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/health/passive.h"
#include "proxy/snapshot.h"
#include "routing/node_state.h"

namespace proxy::health {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using routing::Admin;
using routing::Health;
using std::chrono::milliseconds;

// Accepts on 127.0.0.1 and closes at once; counts the connections. close() makes the port
// refuse, open() listens on it again.
class Listener {
 public:
  explicit Listener(asio::io_context& ctx) : ctx_(ctx) { open(0); }

  void open(uint16_t port) {
    acceptor_ = std::make_shared<tcp::acceptor>(
        ctx_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    port_ = acceptor_->local_endpoint().port();
    co_spawn(ctx_, accept_loop(acceptor_), asio::detached);
  }
  void reopen() { open(port_); }
  void close() {
    if (acceptor_) acceptor_->close();
    acceptor_.reset();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int accepted = 0;
  bool hold = false;  // keep the connections open, silent
  std::vector<tcp::socket> held;

 private:
  asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> a) {
    for (;;) {
      auto [ec, socket] = co_await a->async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      ++accepted;
      if (hold) held.push_back(std::move(socket));
    }
  }

  asio::io_context& ctx_;
  std::shared_ptr<tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
};

routing::PoolSettings checked_pool(const std::string& name, std::vector<std::string> addresses) {
  routing::PoolSettings p;
  p.name = name;
  for (auto& a : addresses) p.nodes.push_back({.name = a, .address = a});
  p.check.type = routing::CheckType::Tcp;
  p.check.timeout = milliseconds(200);
  p.health.interval = milliseconds(40);
  p.health.rise = 2;
  p.health.fall = 2;
  p.health.passive_failures = 3;
  return p;
}

class HealthCheckerTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Snapshot> snapshot(std::vector<routing::PoolSettings> pools) {
    Config c;
    c.pools = std::move(pools);
    snap_ = std::make_shared<const Snapshot>(std::move(c), snap_.get());
    return snap_;
  }
  routing::Node& node(size_t pool, size_t i) { return *snap_->pools().at(pool)->nodes()[i]; }

  // Runs the io_context until `done` or `limit`; true when done.
  bool run_until(const std::function<bool()>& done, milliseconds limit = milliseconds(3'000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      ctx_.restart();
      ctx_.run_for(milliseconds(5));
    }
    return true;
  }
  void run_for(milliseconds d) {
    ctx_.restart();
    ctx_.run_for(d);
  }

  asio::io_context ctx_;
  Listener up_{ctx_};
  std::shared_ptr<const Snapshot> snap_;
  std::unique_ptr<HealthChecker> checker_ = std::make_unique<HealthChecker>(ctx_);

  void TearDown() override {
    checker_->stop();
    // Once stopped, the checker leaves nothing on the io_context but the listener's accept.
    up_.close();
    ctx_.restart();
    const auto t0 = std::chrono::steady_clock::now();
    ctx_.run_for(milliseconds(2'000));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(1'000))
        << "the checker's loops did not end";
  }
};

TEST_F(HealthCheckerTest, HealthyNodesStayUpAndAreProbed) {
  checker_->update(snapshot({checked_pool("p", {up_.address()})}));
  ASSERT_TRUE(run_until([&] { return up_.accepted >= 3; }));
  EXPECT_EQ(node(0, 0).health(), Health::Up);
}

TEST_F(HealthCheckerTest, RefusedNodeGoesDownAndComesBack) {
  checker_->update(snapshot({checked_pool("p", {up_.address()})}));
  ASSERT_TRUE(run_until([&] { return up_.accepted >= 1; }));
  up_.close();
  ASSERT_TRUE(run_until([&] { return node(0, 0).health() == Health::Down; }));
  auto state = routing::read_state(node(0, 0));
  EXPECT_EQ(state.last_cause, "health check failed 2 times in a row: connection refused");
  up_.reopen();
  ASSERT_TRUE(run_until([&] { return node(0, 0).health() == Health::Up; }));
  EXPECT_EQ(routing::read_state(node(0, 0)).last_cause,
            "health check passed 2 times in a row: connected");
}

TEST_F(HealthCheckerTest, NewNodeOnProbationGoesDownAtTheFirstFailure) {
  Listener dead(ctx_);
  dead.close();
  auto pool = checked_pool("p", {dead.address()});
  pool.health.fall = 100;
  checker_->update(snapshot({pool}));
  ASSERT_TRUE(run_until([&] { return node(0, 0).health() == Health::Down; }, milliseconds(1'000)));
  EXPECT_EQ(routing::read_state(node(0, 0)).last_cause,
            "health check failed at its first probe: connection refused");
}

TEST_F(HealthCheckerTest, BackFromMaintenanceOnProbation) {
  auto pool = checked_pool("p", {up_.address()});
  pool.health.fall = 100;
  checker_->update(snapshot({pool}));
  ASSERT_TRUE(run_until([&] { return up_.accepted >= 1; }));
  routing::set_admin(node(0, 0), Admin::Maintenance, "test", routing::SteadyClock().now());
  run_for(milliseconds(100));
  up_.close();
  routing::set_admin(node(0, 0), Admin::Active, "test", routing::SteadyClock().now());
  ASSERT_TRUE(run_until([&] { return node(0, 0).health() == Health::Down; }));
  EXPECT_EQ(routing::read_state(node(0, 0)).last_cause,
            "health check failed at its first probe after maintenance: connection refused");
}

TEST_F(HealthCheckerTest, SlowStartRampsTheWeightUp) {
  auto pool = checked_pool("p", {up_.address()});
  pool.health.slow_start = milliseconds(600);
  checker_->update(snapshot({pool}));
  ASSERT_TRUE(run_until([&] { return up_.accepted >= 1; }));
  up_.close();
  ASSERT_TRUE(run_until([&] { return node(0, 0).health() == Health::Down; }));
  up_.reopen();
  ASSERT_TRUE(run_until([&] { return node(0, 0).health() == Health::Starting; }));
  const uint32_t first = node(0, 0).ramp();
  EXPECT_LT(first, routing::Node::kFullRamp / 2);
  ASSERT_TRUE(run_until([&] { return node(0, 0).ramp() > first; }));
  EXPECT_EQ(node(0, 0).health(), Health::Starting);
  ASSERT_TRUE(run_until([&] { return node(0, 0).health() == Health::Up; }));
  EXPECT_EQ(node(0, 0).ramp(), routing::Node::kFullRamp);
}

TEST_F(HealthCheckerTest, MaintenanceStopsTheProbes) {
  checker_->update(snapshot({checked_pool("p", {up_.address()})}));
  ASSERT_TRUE(run_until([&] { return up_.accepted >= 1; }));
  routing::set_admin(node(0, 0), Admin::Maintenance, "test", routing::SteadyClock().now());
  run_for(milliseconds(100));  // a probe already under way may finish
  const int before = up_.accepted;
  run_for(milliseconds(300));
  EXPECT_EQ(up_.accepted, before);
  routing::set_admin(node(0, 0), Admin::Active, "test", routing::SteadyClock().now());
  ASSERT_TRUE(run_until([&] { return up_.accepted > before; }));
}

TEST_F(HealthCheckerTest, ReloadKeepsTheStateOfCarriedNodes) {
  Listener dead(ctx_);
  dead.close();
  auto pool = checked_pool("p", {dead.address()});
  checker_->update(snapshot({pool}));
  ASSERT_TRUE(run_until([&] { return node(0, 0).health() == Health::Down; }));
  const uint64_t downs = routing::read_state(node(0, 0)).downs;
  // Same node, new interval, plus a new healthy node.
  pool.health.interval = milliseconds(30);
  pool.nodes.push_back({.name = up_.address(), .address = up_.address()});
  checker_->update(snapshot({pool}));
  run_for(milliseconds(300));
  EXPECT_EQ(node(0, 0).health(), Health::Down);
  EXPECT_EQ(routing::read_state(node(0, 0)).downs, downs) << "not brought up and down again";
  EXPECT_EQ(node(0, 1).health(), Health::Up);
}

TEST_F(HealthCheckerTest, ALostCheckLeavesTheNodesUp) {
  Listener dead(ctx_);
  dead.close();
  auto pool = checked_pool("p", {dead.address()});
  checker_->update(snapshot({pool}));
  ASSERT_TRUE(run_until([&] { return node(0, 0).health() == Health::Down; }));
  pool.check.type = routing::CheckType::None;
  checker_->update(snapshot({pool}));
  ASSERT_TRUE(run_until([&] { return node(0, 0).health() == Health::Up; }, milliseconds(500)));
  EXPECT_EQ(routing::read_state(node(0, 0)).last_cause, "health check removed");
}

TEST_F(HealthCheckerTest, PoolsWithoutACheckAreLeftAlone) {
  routing::PoolSettings plain;
  plain.name = "plain";
  plain.nodes.push_back({.name = up_.address(), .address = up_.address()});
  checker_->update(snapshot({plain}));
  run_for(milliseconds(200));
  EXPECT_EQ(up_.accepted, 0);
  EXPECT_EQ(node(0, 0).health(), Health::Up);
}

TEST_F(HealthCheckerTest, PassiveFailuresTakeANodeDownAndChecksBringItBack) {
  auto pool = checked_pool("p", {up_.address()});
  checker_->update(snapshot({pool}));
  run_for(milliseconds(20));
  const routing::Pool& p = *snap_->pools()[0];
  routing::Node& n = node(0, 0);
  report_passive(p, n, routing::PassiveResult::ConnectFailure);
  report_passive(p, n, routing::PassiveResult::Success);  // ends the run
  report_passive(p, n, routing::PassiveResult::ConnectFailure);
  report_passive(p, n, routing::PassiveResult::ConnectFailure);
  report_passive(p, n, routing::PassiveResult::ServerError);  // an answer, without passive_5xx
  report_passive(p, n, routing::PassiveResult::ConnectFailure);
  report_passive(p, n, routing::PassiveResult::ConnectFailure);
  EXPECT_EQ(n.health(), Health::Up);
  report_passive(p, n, routing::PassiveResult::ConnectFailure);
  EXPECT_EQ(n.health(), Health::Down);
  EXPECT_EQ(routing::read_state(n).last_cause,
            "3 failures in a row on live traffic (last: connect failure)");
  ASSERT_TRUE(run_until([&] { return n.health() == Health::Up; }));
}

TEST_F(HealthCheckerTest, StopEndsProbesInFlight) {
  // A silent IMAP server and a long timeout: the probe waits for a greeting that never comes.
  up_.hold = true;
  auto pool = checked_pool("p", {up_.address()});
  pool.check.type = routing::CheckType::Imap;
  pool.check.timeout = milliseconds(10'000);
  pool.health.interval = milliseconds(10);
  checker_->update(snapshot({pool}));
  ASSERT_TRUE(run_until([&] { return up_.accepted >= 1; }));
  run_for(milliseconds(50));
  EXPECT_EQ(up_.accepted, 1) << "one probe, waiting";
  EXPECT_EQ(node(0, 0).health(), Health::Up);
  // TearDown stops the checker and expects its loops gone within a second.
}

}  // namespace
}  // namespace proxy::health
