// The byte tunnel after a protocol upgrade (WebSocket): both directions copied until each
// side has closed. A clean close (FIN) of one side is passed on as a half-close and the other
// direction keeps flowing; an error on either side ends both.
#pragma once

#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "proxy/http/body_buffer.h"

namespace proxy::http {

template <class From, class To, class Deadline>
boost::asio::awaitable<void> tunnel_pump(From& from, To& to, BufferPool& pool,
                                         std::chrono::milliseconds idle, Deadline& deadline,
                                         bool& failed) {
  namespace asio = boost::asio;
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  auto cut = [&] {
    failed = true;
    boost::system::error_code ignored;
    boost::beast::get_lowest_layer(to).cancel(ignored);
    boost::beast::get_lowest_layer(from).cancel(ignored);
  };
  BodyBuffer buf(pool);
  for (;;) {
    deadline(idle);
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buf.data(), buf.size()), use_tuple);
    if (ec) {
      if (ec == asio::error::eof && !failed) {
        boost::system::error_code ignored;
        boost::beast::get_lowest_layer(to).shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      } else {
        cut();
      }
      co_return;
    }
    deadline(idle);
    auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf.data(), n), use_tuple);
    if (wec) {
      cut();
      co_return;
    }
  }
}

// Runs both directions until both have ended. Every transfer moves the deadline `idle` ahead.
template <class A, class B, class Deadline>
boost::asio::awaitable<void> tunnel(A& a, B& b, BufferPool& pool, std::chrono::milliseconds idle,
                                    Deadline deadline) {
  using namespace boost::asio::experimental::awaitable_operators;
  bool failed = false;
  co_await (tunnel_pump(a, b, pool, idle, deadline, failed) &&
            tunnel_pump(b, a, pool, idle, deadline, failed));
}

}  // namespace proxy::http
