#include "proxy/http/upstream_attempt.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/config/address.h"
#include "proxy/health/passive.h"
#include "proxy/peek.h"

namespace proxy::http {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Is an idle pooled connection still open? (A backend may have closed it meanwhile.)
inline bool still_open(tcp::socket& s) {
  return peek(s.native_handle()) == Peek::Nothing;
}

}  // namespace

awaitable<bool> UpstreamAttempt::get(bool has_body, bool& saw_timeout) {
  while (!up && ntried < kMaxTries) {
    lease = pool.pick({owner.w.random(), excluded()});
    if (!lease) break;
    routing::Node& node = *lease.node();
    if (ntried > 0) count_retry(tried[ntried - 1]);
    up = owner.w.upstreams().take(&node);
    reused = up != nullptr;
    if (reused && has_body && !still_open(up->socket())) {
      up.reset();  // a body cannot be replayed: check the idle connection first
      reused = false;
    }
    if (!up && !co_await connect(node, route.timeouts.connect, up, saw_timeout)) {
      tried[ntried++] = &node;
      health::report_passive(pool, node, routing::PassiveResult::ConnectFailure);
      lease.release();
    }
  }
  co_return up != nullptr;
}

awaitable<bool> UpstreamAttempt::connect(routing::Node& node, Millis timeout,
                                         std::unique_ptr<UpstreamConnection>& out,
                                         bool& timed_out) {
  auto ep = config::parse_endpoint(node.settings().address);
  if (!ep) co_return false;
  routing::NodeTraffic& traffic = node_traffic(node);
  const Clock::time_point started = owner.w.now();
  auto conn = std::make_unique<UpstreamConnection>(owner.w.io().get_executor());
  owner.in_use = conn.get();
  deadline_in(timeout);
  auto [ec] = co_await conn->socket().async_connect(*ep, use_tuple);
  owner.in_use = nullptr;
  if (ec) {
    auto why = owner.expired                           ? routing::ConnectError::Timeout
               : ec == asio::error::connection_refused ? routing::ConnectError::Refused
                                                       : routing::ConnectError::Other;
    traffic.connect_errors[static_cast<size_t>(why)].add();
    timed_out = timed_out || owner.expired;
    owner.expired = false;
    co_return false;
  }
  conn->opened(node.shared_from_this(), traffic);
  error_code ignored;
  conn->socket().set_option(tcp::no_delay(true), ignored);
  if (tls) {
    // Re-encryption: the handshake belongs to the connect, within the same timeout.
    std::string_view host = node.settings().address;
    host = host.substr(0, host.rfind(':'));
    if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
    SSL* ssl = tls->new_ssl(host);
    if (!ssl) co_return false;
    conn->stream.start_tls(ssl);
    owner.in_use = conn.get();
    auto [hec] = co_await conn->stream.tls()->async_client_handshake(use_tuple);
    owner.in_use = nullptr;
    if (hec) {
      traffic
          .connect_errors[static_cast<size_t>(owner.expired ? routing::ConnectError::Timeout
                                                            : routing::ConnectError::Tls)]
          .add();
      timed_out = timed_out || owner.expired;
      owner.expired = false;
      co_return false;
    }
  }
  traffic.connect_time.observe(owner.w.now() - started);
  out = std::move(conn);
  co_return true;
}

awaitable<bool> UpstreamAttempt::resend_head(std::string_view head, bool whole_head_sent,
                                             bool idempotent) {
  // A stale pooled connection is replaced by a fresh one to the same node; a fresh connection
  // that died means the node is failing (stopping, crashing): the request gets its one retry
  // on another node. A head that did not leave whole never made a request, so it may go again
  // whatever its method. Each round clears `reused` or sets `replayed`: two rounds at most.
  bool may_repeat = idempotent || !whole_head_sent;
  while (reused || (may_repeat && !replayed)) {
    replayed = replayed || !reused;
    if (!co_await replace_connection()) co_return false;
    reused = false;
    owner.expired = false;
    deadline_in(route.timeouts.response);
    auto [ec, n] = co_await asio::async_write(up->stream, asio::buffer(head), use_tuple);
    node_traffic(*lease.node()).sent_bytes.add(n);
    if (!ec) co_return true;
    owner.in_use = nullptr;
    may_repeat = true;  // this head did not leave whole either
  }
  co_return false;
}

awaitable<bool> UpstreamAttempt::replace_connection() {
  // The connection died before answering: its idle siblings on this worker are likely dead
  // too (a backend restarting closes them all).
  up.reset();
  owner.in_use = nullptr;
  owner.w.upstreams().drop(lease.node());
  // A reused connection most likely just went stale: the same node first. A fresh one that
  // died says the node itself is failing (stopping, crashing): another node.
  bool timed_out = false;
  const Millis connect_timeout = route.timeouts.connect;
  if (reused && co_await connect(*lease.node(), connect_timeout, up, timed_out)) {
    owner.in_use = up.get();
    co_return true;
  }
  for (;;) {
    if (ntried < kMaxTries) tried[ntried++] = lease.node();
    health::report_passive(pool, *lease.node(), routing::PassiveResult::ConnectFailure);
    lease.release();
    if (ntried == kMaxTries) co_return false;
    lease = pool.pick({owner.w.random(), excluded()});
    if (!lease) co_return false;
    count_retry(tried[ntried - 1]);
    if (co_await connect(*lease.node(), connect_timeout, up, timed_out)) {
      owner.node_name = lease.node()->name();
      owner.node = lease.node();
      owner.in_use = up.get();
      co_return true;
    }
  }
}

}  // namespace proxy::http
