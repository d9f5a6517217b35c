#include "proxy/upstream/socket_transport.h"

#include "proxy/peek.h"

namespace proxy::upstream {

bool SocketTransport::still_open(Connection& c) {
  return peek(c.socket().native_handle()) == Peek::Nothing;
}

boost::asio::awaitable<DialResult> SocketTransport::dial(routing::Node& node,
                                                         std::unique_ptr<Connection>& out) {
  using Clock = std::chrono::steady_clock;
  const routing::NodeSettings& ns = node.settings();
  if (!ns.resolved()) co_return DialResult{routing::ConnectError::Other};
  auto conn = std::make_unique<Connection>(ex_);
  const Clock::time_point started = Clock::now();
  DialOptions options = options_;
  options.server_name = ns.tls_name;
  watch_.dialing(&conn->stream, connect_timeout_);
  const DialError e = co_await upstream::dial(
      conn->stream, boost::asio::ip::tcp::endpoint(ns.ip, ns.port), options);
  watch_.dialing(nullptr, connect_timeout_);
  if (e) co_return DialResult{classify(e, watch_.dial_expired())};
  conn->opened(node.shared_from_this(), node.traffic(worker_));
  out = std::move(conn);
  co_return DialResult{std::nullopt, Clock::now() - started};
}

}  // namespace proxy::upstream
