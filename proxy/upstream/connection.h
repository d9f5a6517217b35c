// One connection to a node, as the connector hands it to a front: its stream (TCP, or TLS over
// it when the pool re-encrypts), the bytes read ahead of the current response, and its place in
// the node's connection counters while it lives.
#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/upstream/stream.h"
#include "routing/node.h"

namespace proxy::upstream {

using Clock = std::chrono::steady_clock;

struct Connection {
  explicit Connection(boost::asio::any_io_executor ex) : stream(std::move(ex)) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
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
  Stream stream;
  boost::beast::flat_buffer buffer;
  Clock::time_point idle_since{};
  uint64_t requests = 0;  // requests served on this connection so far
  std::shared_ptr<const routing::Node> node;
  routing::NodeTraffic* traffic = nullptr;  // the owning worker's counters for the node
  bool idle = false;                        // waiting in the pool
};

}  // namespace proxy::upstream
