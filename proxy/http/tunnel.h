// The byte tunnel after a protocol upgrade (WebSocket): both directions copied until each
// side has closed. A clean close (FIN) of one side is passed on as a half-close and the other
// direction keeps flowing; an error on either side ends both. The copy is the TCP relay's
// (proxy/tcp/relay.h): a direction holds a buffer from the worker's pool only while bytes flow,
// on a socket or a TLS stream, so an idle WebSocket holds none; on an HTTP/2 stream (RFC 8441)
// the direction reading the client's DATA keeps one.
#pragma once

#include <chrono>
#include <cstdint>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "proxy/both_ways.h"
#include "proxy/http/body_buffer.h"
#include "proxy/tcp/relay.h"

namespace proxy::http {

template <class From, class To, class Deadline>
boost::asio::awaitable<void> tunnel_pump(From& from, To& to, BufferPool& pool,
                                         std::chrono::milliseconds idle, Deadline& deadline,
                                         bool& failed) {
  using tcp_relay::PumpEnd;
  uint64_t bytes = 0;
  const PumpEnd end = co_await tcp_relay::pump(
      from, to, pool, bytes, [&] { deadline(idle); }, failed, false);
  boost::system::error_code ignored;
  if (end == PumpEnd::Fin) {
    boost::beast::get_lowest_layer(to).shutdown(boost::asio::ip::tcp::socket::shutdown_send,
                                                ignored);
    co_return;
  }
  failed = true;
  boost::beast::get_lowest_layer(to).cancel(ignored);
  boost::beast::get_lowest_layer(from).cancel(ignored);
}

// Runs both directions until both have ended. Every transfer moves the deadline `idle` ahead.
template <class A, class B, class Deadline>
boost::asio::awaitable<void> tunnel(A& a, B& b, BufferPool& pool, std::chrono::milliseconds idle,
                                    Deadline deadline) {
  bool failed = false;
  co_await both_ways(tunnel_pump(a, b, pool, idle, deadline, failed),
                     tunnel_pump(b, a, pool, idle, deadline, failed), [&] {
                       failed = true;
                       boost::system::error_code ignored;
                       boost::beast::get_lowest_layer(a).cancel(ignored);
                       boost::beast::get_lowest_layer(b).cancel(ignored);
                     });
}

}  // namespace proxy::http
