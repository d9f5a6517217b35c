// Relaying one direction between two plain TCP sockets with splice(2) through a pipe: the
// bytes move socket -> pipe -> socket inside the kernel, never copied to user space. The pipe
// holds at most one chunk (64 KiB), so backpressure is the same as with a bounded buffer.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "proxy/tcp/proxy_header.h"
#include "proxy/tcp/pump_end.h"

namespace proxy::tcp_relay {

// A pipe for one direction; closed with the pump.
class Pipe {
 public:
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
      r_ = fds[0];
      w_ = fds[1];
    }
  }
  ~Pipe() {
    if (r_ >= 0) ::close(r_);
    if (w_ >= 0) ::close(w_);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  bool ok() const { return r_ >= 0; }
  int read_end() const { return r_; }
  int write_end() const { return w_; }

 private:
  int r_ = -1;
  int w_ = -1;
};

inline constexpr size_t kSpliceChunk = 64 * 1024;

// Relays `from` to `to` until `from` ends, as pump() in relay.h does, with splice(2). Both
// sockets must be in non-blocking mode. Each splice is tried first; only when it would block
// does the pump wait for readiness, so a busy connection costs two splice calls per chunk.
template <class Progress>
boost::asio::awaitable<PumpEnd> splice_pump(boost::asio::ip::tcp::socket& from,
                                            boost::asio::ip::tcp::socket& to, uint64_t& bytes,
                                            Progress progress, const bool& stop, bool check_first) {
  namespace asio = boost::asio;
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  constexpr unsigned kFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
  Pipe pipe;
  if (!pipe.ok()) co_return PumpEnd::ReadError;
  const int in = from.native_handle();
  const int out = to.native_handle();
  for (;;) {
    if (stop) co_return PumpEnd::ReadError;
    if (check_first) {
      // The first bytes, looked at in place: a PROXY header from a source not allowed to
      // send one is refused. Waits until at least a v2 signature's worth is here (or EOF).
      std::array<uint8_t, 16> first;
      ssize_t n = ::recv(in, first.data(), first.size(), MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) {
        check_first = false;
        if (looks_like_proxy_header({first.data(), static_cast<size_t>(n)}))
          co_return PumpEnd::ProxyHeader;
      } else if (n == 0) {
        co_return PumpEnd::Fin;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        co_return PumpEnd::ReadError;
      } else {
        progress();
        auto [ec] = co_await from.async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
        if (ec) co_return PumpEnd::ReadError;
        continue;
      }
    }
    ssize_t n = ::splice(in, nullptr, pipe.write_end(), nullptr, kSpliceChunk, kFlags);
    if (n == 0) co_return stop ? PumpEnd::ReadError : PumpEnd::Fin;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) co_return PumpEnd::ReadError;
      progress();
      auto [ec] = co_await from.async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
      if (ec) co_return PumpEnd::ReadError;
      continue;
    }
    size_t left = static_cast<size_t>(n);
    while (left > 0) {
      if (stop) co_return PumpEnd::WriteError;
      ssize_t m = ::splice(pipe.read_end(), nullptr, out, nullptr, left, kFlags);
      if (m > 0) {
        left -= static_cast<size_t>(m);
        bytes += static_cast<uint64_t>(m);
        continue;
      }
      if (m < 0 && errno == EINTR) continue;
      if (m < 0 && errno != EAGAIN && errno != EWOULDBLOCK) co_return PumpEnd::WriteError;
      progress();
      auto [ec] = co_await to.async_wait(asio::ip::tcp::socket::wait_write, use_tuple);
      if (ec) co_return PumpEnd::WriteError;
    }
  }
}

}  // namespace proxy::tcp_relay
