// Relaying one direction between two plain TCP sockets the way HAProxy's splice-auto does:
// recv/send through a buffer from the worker's pool first, and splice(2) through a pipe (see
// splice_pump.h) only once a read fills the buffer, i.e. once the direction shows bulk. A short
// exchange (a request and its response, a mail greeting, a command) then never creates a pipe:
// no pipe2, no closing its two ends, fewer calls per chunk. The buffer is held only until the
// switch or the end of the direction.
//
// Asio puts the sockets in non-blocking mode for the copying phase if they are not yet (one
// ioctl per socket, none for a socket already made non-blocking with non_blocking(true)); the
// splice phase relies on that.
#pragma once

#include <cstdint>
#include <span>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "proxy/http/body_buffer.h"
#include "proxy/tcp/relay.h"
#include "proxy/tcp/splice_pump.h"

namespace proxy::tcp_relay {

// Relays `from` to `to` until `from` ends, as pump() in relay.h does. `spliced`, when given, is set
// once the direction has switched to splice(2).
template <class Progress>
boost::asio::awaitable<PumpEnd> auto_pump(boost::asio::ip::tcp::socket& from,
                                          boost::asio::ip::tcp::socket& to, http::BufferPool& pool,
                                          uint64_t& bytes, Progress progress, const bool& stop,
                                          bool check_first, bool* spliced = nullptr) {
  {
    // Asio's reads and writes are tried at once and wait for readiness only when they would
    // block; unlike async_wait, waiting this way costs no epoll_ctl per wait.
    http::BodyBuffer buf(pool);
    PumpEnd end = co_await pump(from, to, std::span<char>(buf.data(), buf.size()), bytes, progress,
                                stop, check_first, true);
    if (end != PumpEnd::Full) co_return end;
  }  // the buffer goes back to the pool before the pipe is made
  // Both sockets are in non-blocking mode now, as splice_pump needs: Asio set it (or found it
  // set) for the read on `from` and the write to `to` above.
  if (spliced) *spliced = true;
  co_return co_await splice_pump(from, to, bytes, progress, stop, false);
}

}  // namespace proxy::tcp_relay
