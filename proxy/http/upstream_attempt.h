// One request's way to a node: choosing one, getting a connection to it (an idle one of this
// worker, else a new one, with TLS when the pool re-encrypts), and after a failure before any
// response byte, a new connection to the same node or another for the head to go again.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "proxy/connection_registry.h"
#include "proxy/http/upstream_pool.h"
#include "proxy/worker_context.h"
#include "routing/node_state.h"
#include "routing/pool.h"
#include "tls/client_tls.h"

namespace proxy::http {

inline constexpr size_t kMaxTries = 8;  // nodes tried for one request when connects fail

struct UpstreamAttempt {
  // What the attempt moves of the session that runs it.
  struct Owner {
    WorkerContext& w;
    TrackedConnection& conn;      // its deadline
    UpstreamConnection*& in_use;  // the connection the session's expire() cancels
    bool& expired;                // the deadline passed (read and cleared)
    routing::Node*& node;         // the node the request is with now
    std::string_view& node_name;  // its name, for the access log
  };

  Owner owner;
  routing::Pool& pool;
  const tls::ClientTls* tls;
  const routing::RouteSettings& route;
  routing::NodeLease lease;
  std::unique_ptr<UpstreamConnection> up;
  std::array<const routing::Node*, kMaxTries> tried{};
  size_t ntried = 0;
  bool reused = false;    // `up` came from the idle pool
  bool replayed = false;  // the one retry on another node after a fresh connection died

  std::span<const routing::Node* const> excluded() const { return {tried.data(), ntried}; }

  // Chooses a node and gets a connection. A failed connect sends nothing, so another node is
  // tried. False when no node could be reached; `saw_timeout` tells whether a connect timed
  // out. A request with a body never gets an idle connection the node has closed meanwhile.
  boost::asio::awaitable<bool> get(bool has_body, bool& saw_timeout);

  // The head could not be sent, or the connection closed before any response byte: sends
  // `head` again over a new connection when that is allowed. False when it is not (or failed).
  boost::asio::awaitable<bool> resend_head(std::string_view head, bool whole_head_sent,
                                           bool idempotent);

 private:
  boost::asio::awaitable<bool> connect(routing::Node& node, Millis timeout,
                                       std::unique_ptr<UpstreamConnection>& out, bool& timed_out);
  boost::asio::awaitable<bool> replace_connection();
  void deadline_in(Millis d) { owner.conn.set_deadline(owner.w.now() + d); }
  routing::NodeTraffic& node_traffic(const routing::Node& node) {
    return node.traffic(owner.w.index());
  }
  // The request moves on after a failure on `node`.
  void count_retry(const routing::Node* node) { node_traffic(*node).retries.add(); }
};

}  // namespace proxy::http
