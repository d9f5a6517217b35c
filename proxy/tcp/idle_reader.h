// The reading side of one relayed direction, holding a 16 KiB buffer from the worker's pool
// only while bytes flow: a direction that waits for its source holds none, so an idle session
// (a mail client in IMAP IDLE, a quiet WebSocket) costs no relay buffer.
//
// - A TCP socket waits in an asynchronous read into a small buffer of the reader's own
//   (kSmallRead bytes). Most messages of an interactive session (a command, its answer, a push
//   notification) fit: they go on from there and never take a pool buffer. A read that fills
//   the small buffer takes a pool buffer, moves its bytes there and reads what else is queued
//   at once (recv with MSG_DONTWAIT). While reads fill the pool buffer (bulk) the next one is
//   tried at once into it; the first read that finds nothing gives it back, and the direction
//   waits in the small read again. Waiting in a read costs no more system calls than Asio's
//   reads did: Asio's epoll reactor registers a socket for readability once, and a read that
//   would block waits on that registration, while async_wait() re-arms it with an epoll_ctl
//   per wait (start_op in boost/asio/detail/impl/epoll_reactor.ipp, Boost 1.81: an operation
//   started without a speculative attempt, as async_wait's are, does EPOLL_CTL_MOD when it is
//   the only one of its kind). After a read that did not fill its buffer Asio even skips the
//   next read's speculative recv and waits for the edge.
// - A TLS stream (tls::Stream) reads with read_now() into a pool buffer, and when nothing is
//   there gives the buffer back and waits with async_wait_readable(): a TLS read waited for
//   readiness that way already (an async_wait when OpenSSL wants the socket), so this costs
//   nothing more.
// - A stream that is one of these at run time (upstream::Stream: TLS when the pool
//   re-encrypts) is read as the one it is.
// - Any other stream (the HTTP/2 WebSocket adapter, proxy/h2/body_pipe.h) takes a pool buffer
//   at its first read and keeps it for its life.
#pragma once

#include <sys/socket.h>

#include <array>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include "proxy/http/body_buffer.h"

namespace proxy::tcp_relay {

namespace idle_read {

// A stream with a read that does not wait and a wait for readability that holds no buffer.
template <class S>
concept Waitable = requires(S& s, boost::asio::mutable_buffer b, std::size_t& n,
                            boost::system::error_code& ec) {
  { s.read_now(b, n, ec) } -> std::same_as<bool>;
  s.async_wait_readable(boost::asio::as_tuple(boost::asio::use_awaitable));
};

// A stream that is a TCP socket or a TLS stream, decided at run time (upstream::Stream).
template <class S>
concept Either = !Waitable<S> && requires(S & s) {
  s.tls();
  { s.lowest_layer() } -> std::same_as<boost::asio::ip::tcp::socket&>;
};

}  // namespace idle_read

// The bytes of a read: valid until the next read. Empty only with an error (eof at the end).
struct ReadResult {
  boost::system::error_code ec;
  std::span<char> bytes;
};

// Reads one direction's source. No coroutine of its own (each would be a frame held by every
// idle direction): the caller runs the loop
//
//   ReadResult r;
//   while (!reader.read_now(r)) {
//     auto [ec, n] = co_await reader.async_wait(use_tuple);
//     if (reader.after_wait(ec, n, r)) break;
//   }
template <class From>
class IdleReader {
 public:
  // Bytes read into the reader's own buffer while it waits on a TCP socket.
  static constexpr std::size_t kSmallRead = 512;

  IdleReader(From& from, http::BufferPool& pool) : from_(from), pool_(pool) {}

  // What the source has now, without waiting. False: nothing yet (no pool buffer is held);
  // async_wait(), then after_wait().
  bool read_now(ReadResult& r) {
    if constexpr (std::is_same_v<From, Socket>) {
      return socket_now(r);
    } else if constexpr (idle_read::Waitable<From>) {
      return waitable_now(from_, r);
    } else if constexpr (idle_read::Either<From>) {
      if (auto* t = from_.tls()) return waitable_now(*t, r);
      return socket_now(r);
    } else {
      return false;
    }
  }

  // Waits for the source, holding no pool buffer (except a stream of no known kind, whose
  // wait is its read into one). Completion: void(error_code, size_t).
  template <class Token>
  auto async_wait(Token&& token) {
    if constexpr (std::is_same_v<From, Socket>) {
      return from_.async_read_some(boost::asio::buffer(small_), std::forward<Token>(token));
    } else if constexpr (idle_read::Waitable<From> || idle_read::Either<From>) {
      return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
          WaitOp{*this}, token, from_);
    } else {
      if (!buf_) buf_.emplace(pool_);
      return from_.async_read_some(boost::asio::buffer(buf_->data(), buf_->size()),
                                   std::forward<Token>(token));
    }
  }

  // After async_wait() completed with (ec, n): true with `r` set, false when the source had
  // nothing to read after all (a TLS record not complete yet): wait again.
  bool after_wait(boost::system::error_code ec, std::size_t n, ReadResult& r) {
    if (ec) {
      release();
      r = {ec, {}};
      return true;
    }
    if constexpr (std::is_same_v<From, Socket>) {
      r = {{}, socket_waited(n)};
      return true;
    } else if constexpr (idle_read::Waitable<From>) {
      return false;  // readable now: read_now() reads
    } else if constexpr (idle_read::Either<From>) {
      if (from_.tls()) return false;
      r = {{}, socket_waited(n)};
      return true;
    } else {
      r = {{}, got(buf_->data(), n, true)};
      return true;
    }
  }

  // Whether the last read filled a pool buffer: bulk follows.
  bool filled() const { return filled_; }
  // Whether a pool buffer is held now (for tests and measurements).
  bool holds_buffer() const { return buf_.has_value(); }
  // Gives the pool buffer back (the bytes of the last read go with it).
  void release() {
    buf_.reset();
    filled_ = false;
  }

 private:
  using Socket = boost::asio::ip::tcp::socket;

  // The wait of a TLS stream (or of a stream that is one at run time), with the completion of
  // a socket's read.
  struct WaitOp {
    IdleReader& reader;
    bool started = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
      if (started) return self.complete(ec, n);
      started = true;
      if constexpr (idle_read::Waitable<From>) {
        reader.from_.async_wait_readable(std::move(self));
      } else if (auto* t = reader.from_.tls()) {
        t->async_wait_readable(std::move(self));
      } else {
        reader.from_.lowest_layer().async_read_some(boost::asio::buffer(reader.small_),
                                                    std::move(self));
      }
    }
  };

  std::span<char> got(char* data, std::size_t n, bool pool_buffer) {
    filled_ = pool_buffer && n == http::BodyBuffer::size();
    return {data, n};
  }

  Socket& socket() {
    if constexpr (std::is_same_v<From, Socket>)
      return from_;
    else
      return from_.lowest_layer();
  }

  bool socket_now(ReadResult& r) {
    if (buf_ && filled_) {
      // Bulk: what else is queued, at once, into the same buffer.
      const ssize_t n = ::recv(socket().native_handle(), buf_->data(), buf_->size(), MSG_DONTWAIT);
      if (n > 0) {
        r = {{}, got(buf_->data(), static_cast<std::size_t>(n), true)};
        return true;
      }
      // Nothing yet, the end or an error: the wait (holding no buffer) reports it.
    }
    release();
    return false;
  }

  // After a read of n bytes into the small buffer.
  std::span<char> socket_waited(std::size_t n) {
    if (n < small_.size()) return got(small_.data(), n, false);
    // The small buffer is full: more may be queued. It goes on from a pool buffer.
    buf_.emplace(pool_);
    std::memcpy(buf_->data(), small_.data(), n);
    const ssize_t more =
        ::recv(socket().native_handle(), buf_->data() + n, buf_->size() - n, MSG_DONTWAIT);
    if (more > 0) n += static_cast<std::size_t>(more);
    return got(buf_->data(), n, true);
  }

  template <class Stream>
  bool waitable_now(Stream& s, ReadResult& r) {
    if (!buf_) buf_.emplace(pool_);
    std::size_t n = 0;
    boost::system::error_code ec;
    if (!s.read_now(boost::asio::buffer(buf_->data(), buf_->size()), n, ec)) {
      release();  // nothing there: wait without a buffer
      return false;
    }
    if (ec) {
      release();
      r = {ec, {}};
    } else {
      r = {{}, got(buf_->data(), n, true)};
    }
    return true;
  }

  From& from_;
  http::BufferPool& pool_;
  std::optional<http::BodyBuffer> buf_;
  bool filled_ = false;
  // Only a reader that may wait on a socket needs it.
  static constexpr bool kMayReadSocket = std::is_same_v<From, Socket> || idle_read::Either<From>;
  std::array<char, kMayReadSocket ? kSmallRead : 0> small_;
};

}  // namespace proxy::tcp_relay
