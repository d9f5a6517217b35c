// Copying bytes one way between two streams (TCP sockets or TLS streams) through one bounded
// buffer: a read is issued only once the previous bytes were all written, so a slow reader on
// one side holds the other side back (TCP flow control) instead of making Passeur buffer.
#pragma once

#include <cstdint>
#include <span>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/tcp/proxy_header.h"

namespace proxy::tcp_relay {

enum class PumpEnd : uint8_t {
  Fin,          // the source closed its sending side cleanly: pass the half-close on
  ReadError,    // the source failed (reset, cancelled)
  WriteError,   // the destination failed
  ProxyHeader,  // the first bytes were a PROXY header from a source not allowed to send one
  Full,         // with until_full: a read filled the buffer (and was passed on): bulk follows
};

// Relays `from` to `to` until `from` ends. `progress()` is called before each read and write
// (the session moves its idle deadline); `stop` is checked before each operation.
// `check_first`: refuse a PROXY header at the start of the stream. `until_full`: also end, with
// Full, once a read has filled `buf` (the caller switches to a bulk relay).
template <class From, class To, class Progress>
boost::asio::awaitable<PumpEnd> pump(From& from, To& to, std::span<char> buf, uint64_t& bytes,
                                     Progress progress, const bool& stop, bool check_first,
                                     bool until_full = false) {
  namespace asio = boost::asio;
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  for (;;) {
    if (stop) co_return PumpEnd::ReadError;
    progress();
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buf.data(), buf.size()), use_tuple);
    if (ec) co_return ec == asio::error::eof && !stop ? PumpEnd::Fin : PumpEnd::ReadError;
    if (check_first) {
      check_first = false;
      if (looks_like_proxy_header({reinterpret_cast<const uint8_t*>(buf.data()), n}))
        co_return PumpEnd::ProxyHeader;
    }
    if (stop) co_return PumpEnd::ReadError;
    progress();
    auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf.data(), n), use_tuple);
    bytes += wn;
    if (wec) co_return PumpEnd::WriteError;
    if (until_full && n == buf.size()) co_return PumpEnd::Full;
  }
}

}  // namespace proxy::tcp_relay
