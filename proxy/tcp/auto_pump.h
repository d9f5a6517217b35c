// Relaying one direction between two plain TCP sockets the way HAProxy's splice-auto does:
// recv/send first, and splice(2) through a pipe (see splice_pump.h) only once a read fills a
// 16 KiB buffer from the worker's pool, i.e. once the direction shows bulk. A short exchange (a
// request and its response, a mail greeting, a command) then never creates a pipe: no pipe2, no
// closing its two ends, fewer calls per chunk. Until the switch the reads hold a pool buffer
// only while bytes flow (idle_reader.h: a direction waits in a read into a small buffer of its
// own), so an idle session holds none; after it, none at all. One coroutine (pump() in relay.h)
// does both phases: an idle direction holds one frame.
//
// Asio puts the sockets in non-blocking mode for the copying phase if they are not yet (one
// ioctl per socket, none for a socket already made non-blocking with non_blocking(true)); the
// splice phase relies on that.
#pragma once

#include <cstdint>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "proxy/http/body_buffer.h"
#include "proxy/tcp/relay.h"

namespace proxy::tcp_relay {

// Relays `from` to `to` until `from` ends, as pump() in relay.h does. `spliced`, when given, is set
// once the direction has switched to splice(2).
template <class Progress>
boost::asio::awaitable<PumpEnd> auto_pump(boost::asio::ip::tcp::socket& from,
                                          boost::asio::ip::tcp::socket& to, http::BufferPool& pool,
                                          uint64_t& bytes, Progress progress, const bool& stop,
                                          bool check_first, bool* spliced = nullptr) {
  return pump(from, to, pool, bytes, std::move(progress), stop, check_first, true, spliced);
}

}  // namespace proxy::tcp_relay
