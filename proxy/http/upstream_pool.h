// Idle keep-alive connections to backend nodes, per worker (no locking: one thread uses it).
// A connection is reused for later requests to the same node; idle ones are closed after the
// pool's idle_timeout, and at most max_idle are kept per node.
#pragma once

#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/upstream/stream.h"
#include "routing/node.h"

namespace proxy::http {

using Clock = std::chrono::steady_clock;

struct UpstreamConnection {
  explicit UpstreamConnection(boost::asio::any_io_executor ex) : stream(std::move(ex)) {}
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;
  ~UpstreamConnection() {
    if (!traffic) return;
    traffic->connections.add(-1);
    if (idle) traffic->idle.add(-1);
  }
  // Connected to `n`: counted among its open connections until destroyed. The node is kept
  // alive with it (a reload may drop the node while the connection waits in the pool).
  void opened(std::shared_ptr<const routing::Node> n, routing::NodeTraffic& t) {
    node = std::move(n);
    traffic = &t;
    traffic->connections.add(1);
  }
  void set_idle(bool i) {
    if (traffic && i != idle) traffic->idle.add(i ? 1 : -1);
    idle = i;
  }

  boost::asio::ip::tcp::socket& socket() { return stream.lowest_layer(); }
  upstream::Stream stream;
  boost::beast::flat_buffer buffer;
  Clock::time_point idle_since{};
  uint64_t requests = 0;  // requests served on this connection so far
  std::shared_ptr<const routing::Node> node;
  routing::NodeTraffic* traffic = nullptr;  // the owning worker's counters for the node
  bool idle = false;                        // waiting in the pool
};

class UpstreamPool {
 public:
  // An idle connection to this node, or null.
  std::unique_ptr<UpstreamConnection> take(const routing::Node* node);
  // Keeps a connection whose last response was complete and allowed keep-alive.
  void give_back(const routing::Node* node, std::unique_ptr<UpstreamConnection> conn,
                 uint32_t max_idle, Clock::time_point now);
  // Closes connections idle for longer than their pool allows, and those of nodes for which
  // `keep(node)` is false (removed by a reload).
  template <class Keep>
  void sweep(Clock::time_point now, Keep&& keep_for) {
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto timeout = keep_for(it->first);
      auto& v = it->second;
      std::erase_if(v, [&](const auto& c) { return !timeout || now - c->idle_since > *timeout; });
      it = v.empty() ? idle_.erase(it) : std::next(it);
    }
  }
  // Closes the idle connections to one node.
  void drop(const routing::Node* node) { idle_.erase(node); }
  size_t idle_count() const;
  void clear() { idle_.clear(); }

 private:
  std::unordered_map<const routing::Node*, std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
};

}  // namespace proxy::http
