// Gets a ready connection to a node of a pool for one piece of work (an HTTP request, a TCP
// session): picks a usable node with the pool's balancer, reuses an idle keep-alive connection
// or dials a new one, classifies and counts connect failures, reports them to passive health
// checks, and moves on to another node as retry_policy.h allows. Fronts never pick nodes or
// open sockets to them themselves.
//
// The transport does the I/O, so the rules are tested without sockets:
//   using Connection = ...;
//   std::unique_ptr<Connection> take_idle(routing::Node&);      // null when none
//   bool still_open(Connection&);                               // no FIN or reset seen
//   void drop_idle(routing::Node&);                             // close the node's idle ones
//   awaitable<DialResult> dial(routing::Node&, std::unique_ptr<Connection>& out);
//   bool stopped();                                             // the front stops: no more nodes
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "proxy/health/passive.h"
#include "proxy/upstream/dial_result.h"
#include "proxy/upstream/retry_policy.h"
#include "routing/node.h"
#include "routing/pool.h"
#include "routing/random.h"

namespace proxy::upstream {

// One piece of work's way to a node: its lease (counted as load while held), its connection
// and the nodes it tried.
template <class Connection>
struct Attempt {
  explicit Attempt(const routing::Pool& p) : pool(&p) {}

  const routing::Pool* pool;
  // Chooses the node for each try; empty: the pool's balancer.
  std::function<routing::NodeLease(const routing::PickContext&)> pick;
  routing::NodeLease lease;
  std::unique_ptr<Connection> conn;
  std::array<const routing::Node*, kMaxTries> tried{};
  size_t ntried = 0;
  bool reused = false;     // `conn` came from the idle pool
  bool replayed = false;   // the one replay on another node is spent
  bool timed_out = false;  // a connect timed out on the way
  // Affinity (routing::Pool::pick): the node the client's cookie names, the source key.
  routing::Node* affine = nullptr;
  std::string_view affinity_key;

  routing::Node* node() const { return lease.node(); }
  std::span<const routing::Node* const> excluded() const { return {tried.data(), ntried}; }
  // Why no connection could be had (after connect() returned false).
  NoConnection failure() const {
    return timed_out ? NoConnection::Timeout : NoConnection::NoUsableNode;
  }
};

template <class Transport>
class Connector {
 public:
  using Connection = typename Transport::Connection;
  using Attempt = upstream::Attempt<Connection>;

  Connector(Transport& transport, routing::Random& random, unsigned worker)
      : transport_(transport), random_(random), worker_(worker) {}

  // A connection for `a`: an idle one to the picked node when `reuse` (checked still open
  // first when `check_idle`: work that cannot be replayed, such as a request with a body), else
  // a new one. Failed connects move on to another node. False when none could be had:
  // a.failure() says why.
  boost::asio::awaitable<bool> connect(Attempt& a, bool reuse, bool check_idle) {
    while (!a.conn && a.ntried < kMaxTries && !transport_.stopped()) {
      const routing::PickContext ctx{.random = random_,
                                     .exclude = a.excluded(),
                                     .affine = a.affine,
                                     .affinity_key = a.affinity_key};
      a.lease = a.pick ? a.pick(ctx) : a.pool->pick(ctx);
      if (!a.lease) co_return false;
      routing::Node& node = *a.lease.node();
      if (a.ntried > 0) count_retry(*a.tried[a.ntried - 1]);
      a.conn = reuse ? transport_.take_idle(node) : nullptr;
      a.reused = a.conn != nullptr;
      if (a.reused && check_idle && !transport_.still_open(*a.conn)) {
        a.conn.reset();
        a.reused = false;
      }
      if (!a.conn && !co_await dial(a, node)) node_failed(a);
    }
    co_return a.conn != nullptr;
  }

  // The connection of `a` failed before any byte of the answer, for work without a body:
  // a new connection as retry_policy.h says (the same node for a stale pooled connection,
  // else the one replay on another node). True with a.conn ready to send the work again.
  boost::asio::awaitable<bool> recover(Attempt& a, bool whole_head_sent, bool idempotent) {
    const Recovery r = after_failure({.reused = a.reused,
                                      .replayed = a.replayed,
                                      .whole_head_sent = whole_head_sent,
                                      .idempotent = idempotent});
    if (r == Recovery::GiveUp) co_return false;
    if (r == Recovery::OtherNode) a.replayed = true;
    // The connection died before answering: its idle siblings on this worker are likely dead
    // too (a node restarting closes them all).
    a.conn.reset();
    transport_.drop_idle(*a.lease.node());
    const bool was_reused = a.reused;
    a.reused = false;
    if (was_reused && co_await dial(a, *a.lease.node())) co_return true;
    // The node failed: any other node, with new connections only.
    node_failed(a);
    if (a.ntried == kMaxTries) co_return false;
    co_return co_await connect(a, false, false);
  }

  // The node of `a` failed the work before it began (a connect, or a TCP node that closed
  // before its first byte): reported, remembered as tried, and its lease let go. connect()
  // then moves on to another node.
  void node_failed(Attempt& a) {
    routing::Node& node = *a.lease.node();
    a.conn.reset();
    if (a.ntried < kMaxTries) a.tried[a.ntried++] = &node;
    health::report_passive(*a.pool, node, routing::PassiveResult::ConnectFailure);
    a.lease.release();
  }

  // The answer (or the session) came: passive checks learn the node works, or that it
  // answered with a server error.
  void succeeded(Attempt& a, bool server_error = false) {
    health::report_passive(
        *a.pool, *a.lease.node(),
        server_error ? routing::PassiveResult::ServerError : routing::PassiveResult::Success);
  }

  Transport& transport() { return transport_; }

 private:
  boost::asio::awaitable<bool> dial(Attempt& a, routing::Node& node) {
    const DialResult r = co_await transport_.dial(node, a.conn);
    routing::NodeTraffic& t = node.traffic(worker_);
    if (r.failed()) {
      t.connect_errors[static_cast<size_t>(*r.error)].add();
      a.timed_out = a.timed_out || r.error == routing::ConnectError::Timeout;
      a.conn.reset();
      co_return false;
    }
    t.connect_time.observe(r.took);
    co_return true;
  }
  void count_retry(const routing::Node& node) { node.traffic(worker_).retries.add(); }

  Transport& transport_;
  routing::Random& random_;
  unsigned worker_;
};

}  // namespace proxy::upstream
