// Relaying one direction when at least one side is TLS, holding a buffer from the worker's pool
// only while bytes flow: a read that finds nothing gives the buffer back, and the direction
// waits for its source without one (a TLS stream's async_wait_readable, a socket's readiness).
// An idle session (a mail client in IMAP IDLE, a quiet keep-alive) then holds no relay buffer;
// a busy direction keeps its buffer from one read to the next, as pump() does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/http/body_buffer.h"
#include "proxy/tcp/proxy_header.h"
#include "proxy/tcp/relay.h"

namespace proxy::tcp_relay {

namespace detail {

// A read that does not wait: false when the source has nothing yet (then wait_readable()).
inline bool read_now(boost::asio::ip::tcp::socket& from, boost::asio::mutable_buffer buf,
                     std::size_t& n, boost::system::error_code& ec) {
  n = from.read_some(buf, ec);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
    ec = {};
    return false;
  }
  return true;
}

template <class Stream>
bool read_now(Stream& from, boost::asio::mutable_buffer buf, std::size_t& n,
              boost::system::error_code& ec) {
  return from.read_now(buf, n, ec);
}

// Waits, after a read_now that found nothing, until the source can be read.
inline auto wait_readable(boost::asio::ip::tcp::socket& from) {
  return from.async_wait(boost::asio::ip::tcp::socket::wait_read,
                         boost::asio::as_tuple(boost::asio::use_awaitable));
}

template <class Stream>
auto wait_readable(Stream& from) {
  return from.async_wait_readable(boost::asio::as_tuple(boost::asio::use_awaitable));
}

inline void make_non_blocking(boost::asio::ip::tcp::socket& s) {
  boost::system::error_code ignored;
  s.non_blocking(true, ignored);
}

template <class Stream>
void make_non_blocking(Stream&) {}

}  // namespace detail

// Relays `from` to `to` until `from` ends, as pump() in relay.h does. Reads are tried at once;
// only a read that finds nothing gives the buffer back and waits.
template <class From, class To, class Progress>
boost::asio::awaitable<PumpEnd> idle_pump(From& from, To& to, http::BufferPool& pool,
                                          uint64_t& bytes, Progress progress, const bool& stop,
                                          bool check_first) {
  namespace asio = boost::asio;
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  detail::make_non_blocking(from);
  std::optional<http::BodyBuffer> buf;
  for (;;) {
    if (stop) co_return PumpEnd::ReadError;
    progress();
    if (!buf) buf.emplace(pool);
    std::size_t n = 0;
    boost::system::error_code ec;
    if (!detail::read_now(from, asio::buffer(buf->data(), buf->size()), n, ec)) {
      buf.reset();  // the source is quiet: it waits without a buffer
      auto [wait_ec] = co_await detail::wait_readable(from);
      if (wait_ec) co_return PumpEnd::ReadError;
      continue;
    }
    if (ec) co_return ec == asio::error::eof && !stop ? PumpEnd::Fin : PumpEnd::ReadError;
    if (n == 0) continue;
    if (check_first) {
      check_first = false;
      if (looks_like_proxy_header({reinterpret_cast<const uint8_t*>(buf->data()), n}))
        co_return PumpEnd::ProxyHeader;
    }
    if (stop) co_return PumpEnd::ReadError;
    progress();
    auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf->data(), n), use_tuple);
    bytes += wn;
    if (wec) co_return PumpEnd::WriteError;
  }
}

}  // namespace proxy::tcp_relay
