// The connector's transport over real sockets: the worker's idle keep-alive connections, and
// dial.h for new ones, under the front's deadline (dial_watch.h).
#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "proxy/upstream/dial.h"
#include "proxy/upstream/dial_result.h"
#include "proxy/upstream/dial_watch.h"
#include "proxy/upstream/idle_pool.h"
#include "routing/node.h"

namespace proxy::upstream {

class SocketTransport {
 public:
  using Connection = upstream::Connection;

  // `idle`: the worker's idle connections (null: the front never reuses, as a TCP session).
  // `options`: TLS and PROXY header of every dial; its server name is each node's own.
  SocketTransport(boost::asio::any_io_executor ex, upstream::IdlePool* idle, DialWatch& watch,
                  std::chrono::milliseconds connect_timeout, const DialOptions& options,
                  unsigned worker)
      : ex_(std::move(ex)),
        idle_(idle),
        watch_(watch),
        connect_timeout_(connect_timeout),
        options_(options),
        worker_(worker) {}

  std::unique_ptr<Connection> take_idle(routing::Node& node) {
    return idle_ ? idle_->take(&node) : nullptr;
  }
  static bool still_open(Connection& c);
  void drop_idle(routing::Node& node) {
    if (idle_) idle_->drop(&node);
  }
  boost::asio::awaitable<DialResult> dial(routing::Node& node, std::unique_ptr<Connection>& out);
  bool stopped() const { return watch_.dial_stopped(); }

 private:
  boost::asio::any_io_executor ex_;
  upstream::IdlePool* idle_;
  DialWatch& watch_;
  std::chrono::milliseconds connect_timeout_;
  DialOptions options_;
  unsigned worker_;
};

}  // namespace proxy::upstream
