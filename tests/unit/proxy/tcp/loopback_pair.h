// A connected pair of TCP sockets on loopback, for the relay's tests.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <utility>

namespace proxy::tcp_relay::testing {

struct Pair {
  boost::asio::ip::tcp::socket a, b;
};

inline Pair connected_pair(boost::asio::io_context& ctx) {
  using boost::asio::ip::tcp;
  tcp::acceptor acc(ctx, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket a(ctx), b(ctx);
  a.connect(acc.local_endpoint());
  acc.accept(b);
  return {std::move(a), std::move(b)};
}

}  // namespace proxy::tcp_relay::testing
