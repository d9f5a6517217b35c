// Copying bytes one way between two streams (TCP sockets or TLS streams): a read is issued only
// once the previous bytes were all written, so a slow reader on one side holds the other side
// back (TCP flow control) instead of making Passeur buffer. The reads hold a buffer from the
// worker's pool only while bytes flow (idle_reader.h): a direction waiting for its source holds
// none.
#pragma once

#include <cstdint>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/http/body_buffer.h"
#include "proxy/tcp/idle_reader.h"
#include "proxy/tcp/proxy_header.h"
#include "proxy/tcp/pump_end.h"
#include "proxy/tcp/splice_pump.h"

namespace proxy::tcp_relay {

// Relays `from` to `to` until `from` ends. `progress()` is called before each read and write
// (the session moves its idle deadline); `stop` is checked before each operation.
// `check_first`: refuse a PROXY header at the start of the stream. `splice`, for two TCP
// sockets: once a read fills a pool buffer (bulk), the rest goes with splice(2) through a pipe
// (splice_pump.h), the pool buffer back in the pool first, and *spliced is set if given.
template <class From, class To, class Progress>
boost::asio::awaitable<PumpEnd> pump(From& from, To& to, http::BufferPool& pool, uint64_t& bytes,
                                     Progress progress, const bool& stop, bool check_first,
                                     bool splice = false, bool* spliced = nullptr) {
  namespace asio = boost::asio;
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  IdleReader<From> reader(from, pool);
  for (;;) {
    if (stop) co_return PumpEnd::ReadError;
    progress();
    ReadResult r;
    while (!reader.read_now(r)) {
      auto [ec, n] = co_await reader.async_wait(use_tuple);
      if (reader.after_wait(ec, n, r)) break;
    }
    if (r.ec) co_return r.ec == asio::error::eof && !stop ? PumpEnd::Fin : PumpEnd::ReadError;
    if (check_first) {
      check_first = false;
      if (looks_like_proxy_header(
              {reinterpret_cast<const uint8_t*>(r.bytes.data()), r.bytes.size()}))
        co_return PumpEnd::ProxyHeader;
    }
    if (stop) co_return PumpEnd::ReadError;
    progress();
    auto [wec, wn] =
        co_await asio::async_write(to, asio::buffer(r.bytes.data(), r.bytes.size()), use_tuple);
    bytes += wn;
    if (wec) co_return PumpEnd::WriteError;
    if constexpr (std::is_same_v<From, asio::ip::tcp::socket> &&
                  std::is_same_v<To, asio::ip::tcp::socket>) {
      if (splice && reader.filled()) {
        reader.release();
        // Both sockets are in non-blocking mode now, as splice_pump needs: Asio set it (or found
        // it set) for the read on `from` and the write to `to` above.
        if (spliced) *spliced = true;
        co_return co_await splice_pump(from, to, bytes, progress, stop, false);
      }
    }
  }
}

}  // namespace proxy::tcp_relay
