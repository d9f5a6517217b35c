#pragma once

// A TLS stream that drives OpenSSL directly on a non-blocking TCP socket.
//
// boost::asio::ssl::stream keeps two 17 KiB buffers per connection for its memory BIO pair, for
// the connection's whole life. Here OpenSSL reads and writes the socket itself (SSL_set_fd) and,
// with SSL_MODE_RELEASE_BUFFERS, frees its record buffers whenever they are empty: an idle
// keep-alive connection holds no record buffer at all. When OpenSSL reports WANT_READ or
// WANT_WRITE, the operation waits for readiness with the socket's async_wait and tries again.
//
// By default OpenSSL protects the records for the connection's whole life. On the server side of
// a listener with tls_records = "passeur", once the handshake is done, Passeur's record layer
// (record_layer.h) takes the connection over when the context captured the secrets
// (secret_capture.h) and the cipher is one it handles; OpenSSL's SSL object is then freed, and
// what a connection holds drops from about 14 KiB to about 2.5 KiB. Such a handshake reads
// records one by one (no read ahead), so that no application data is left inside OpenSSL, from
// a BIO that reads the socket once for them and hands what follows the handshake to the record
// layer (read_bio.h).
//
// Callers read and write the same way whichever engine protects the records. A connection
// waiting for its peer can hold no read buffer at all: read_now() reads without waiting, and
// async_wait_readable() waits until a read can make progress, counting what the engine holds
// that no readiness event would announce.
//
// The usual stream rules hold: at most one read (async_read_some, or read_now and
// async_wait_readable) and one write (or one handshake, or one shutdown) outstanding at a time, all
// on the same thread or strand; the stream must not be moved while an operation is outstanding.
// Cancelling the socket (get_lowest_layer(stream).cancel()) or emitting a terminal cancellation on
// the operation's slot aborts a pending wait with operation_aborted. A write cancelled while it
// waits for writability may leave a record half sent: close the connection afterwards. Writes use
// write(2) on the socket, so the process must ignore SIGPIPE.

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "tls/attempt.h"
#include "tls/handshake_result.h"
#include "tls/records/record_layer.h"
#include "tls/secret_capture.h"

namespace tls {

namespace detail {

// Sets the modes the stream relies on and attaches the socket. False when OpenSSL fails.
bool attach(SSL* ssl, int fd);

Attempt try_accept(SSL* ssl);
Attempt try_connect(SSL* ssl);
Attempt try_read(SSL* ssl, void* data, std::size_t size);
Attempt try_write(SSL* ssl, const void* data, std::size_t size);
Attempt try_shutdown(SSL* ssl);

// Frees a connection's SSL; marked shut down first when its handshake finished, as nginx
// does: OpenSSL would otherwise drop the connection's session from the resumption cache when no
// close_notify was exchanged (a client reset, a timeout).
struct SslClose {
  void operator()(SSL* ssl) const;
};

// What does the work of a stream: OpenSSL, or after a server handshake that it could take
// over, the record layer (OpenSSL's SSL object is then freed).
struct Engine {
  // How the last read ended: whether the next one needs the socket first.
  enum class LastRead : unsigned char { bytes, want_read, want_write, ended };

  std::unique_ptr<RecordLayer> records;
  std::unique_ptr<CapturedSecrets> captured;  // during a server handshake
  TlsVersion version = TlsVersion::Other;
  const char* cipher = nullptr;  // OpenSSL's static name of the negotiated cipher
  std::string server_name;       // what the client sent in SNI
  bool h2 = false;               // ALPN selected h2
  LastRead last_read = LastRead::bytes;
  std::unique_ptr<SSL, SslClose> ssl;  // last: freed before what its callbacks point to

  explicit Engine(SSL* s) : ssl(s) {}

  // Server handshake: capture the secrets when the connection's context asks for it
  // (a listener with Passeur's record layer).
  void begin_accept();
  // After a successful handshake: the version; for a server, the record layer if it can.
  void handshake_done();

  // Reads plaintext into data (size > 0) with whichever engine protects the records.
  Attempt read(int fd, void* data, std::size_t size);
  // Bytes of the peer held here rather than in the socket (see Stream::has_buffered_input).
  bool buffered_input() const;
  // What the next read waits for: nothing when it can make progress without the socket (bytes
  // held here, or an end already met), else the socket's readiness the last read asked for.
  Want read_needs() const;
};

// Small writes made of several buffers are copied here and sent as one record.
inline constexpr std::size_t kGatherLimit = 16 * 1024;
unsigned char* gather_buffer();  // kGatherLimit bytes, one per thread

template <class ConstBufferSequence>
Attempt try_write_sequence(SSL* ssl, const ConstBufferSequence& buffers) {
  auto it = boost::asio::buffer_sequence_begin(buffers);
  const auto end = boost::asio::buffer_sequence_end(buffers);
  std::size_t total = 0;
  boost::asio::const_buffer first;
  for (; it != end; ++it) {
    const boost::asio::const_buffer b(*it);
    if (b.size() == 0) continue;
    if (first.size() == 0) first = b;
    total += b.size();
    if (total > first.size() && total >= kGatherLimit) break;  // enough to fill a record
  }
  if (total == 0) return {};
  if (total == first.size() || first.size() >= kGatherLimit) {
    return try_write(ssl, first.data(), first.size());
  }
  unsigned char* scratch = gather_buffer();
  const std::size_t n =
      boost::asio::buffer_copy(boost::asio::mutable_buffer(scratch, kGatherLimit), buffers);
  return try_write(ssl, scratch, n);
}

// The record layer's write: the first buffers of the sequence, up to what one call seals.
template <class ConstBufferSequence>
Attempt records_write(RecordLayer& records, int fd, const ConstBufferSequence& buffers) {
  std::array<boost::asio::const_buffer, 32> pieces;
  std::size_t count = 0;
  std::size_t total = 0;
  const auto end = boost::asio::buffer_sequence_end(buffers);
  for (auto it = boost::asio::buffer_sequence_begin(buffers);
       it != end && count < pieces.size() && total < RecordLayer::kWriteLimit; ++it) {
    const boost::asio::const_buffer b(*it);
    if (b.size() == 0) continue;
    pieces[count++] = b;
    total += b.size();
  }
  return records.write(fd, {pieces.data(), count});
}

template <class MutableBufferSequence>
boost::asio::mutable_buffer first_non_empty(const MutableBufferSequence& buffers) {
  const auto end = boost::asio::buffer_sequence_end(buffers);
  for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end; ++it) {
    const boost::asio::mutable_buffer b(*it);
    if (b.size() != 0) return b;
  }
  return {};
}

struct AcceptAction {
  Attempt operator()(Engine& e, int) {
    Attempt a = try_accept(e.ssl.get());
    if (!a.ec && a.want == Want::nothing) e.handshake_done();
    return a;
  }
};
struct ConnectAction {
  Attempt operator()(Engine& e, int) {
    Attempt a = try_connect(e.ssl.get());
    if (!a.ec && a.want == Want::nothing) e.handshake_done();
    return a;
  }
};
struct ShutdownAction {
  Attempt operator()(Engine& e, int fd) {
    return e.records ? e.records->shutdown(fd) : try_shutdown(e.ssl.get());
  }
};
struct ReadAction {
  boost::asio::mutable_buffer buffer;
  Attempt operator()(Engine& e, int fd) {
    if (buffer.size() == 0) return {};
    return e.read(fd, buffer.data(), buffer.size());
  }
};
template <class ConstBufferSequence>
struct WriteAction {
  ConstBufferSequence buffers;
  std::size_t sealed = 0;  // record layer: plaintext taken by the first attempt
  bool started = false;

  Attempt operator()(Engine& e, int fd) {
    if (!e.records) return try_write_sequence(e.ssl.get(), buffers);
    // Records of an earlier write, or a KeyUpdate or alert, go first; this write completes
    // once its own records are all in the socket.
    Attempt a = e.records->flush(fd);
    if (a.ec || a.want != Want::nothing) return a;
    if (started) return {.bytes = sealed};
    a = records_write(*e.records, fd, buffers);
    if (a.ec) return a;
    started = true;
    sealed = a.bytes;
    if (e.records->has_output()) return {.want = Want::write};
    return a;
  }
};

// Tries the OpenSSL call; waits for the readiness it asks for and tries again; completes with
// its outcome. A result available at once is posted, never delivered inside the initiation.
template <class Action, bool kWithBytes>
class Op {
 public:
  Op(boost::asio::ip::tcp::socket& socket, Engine& engine, Action action)
      : socket_(socket), engine_(engine), action_(std::move(action)) {}

  template <class Self>
  void operator()(Self& self, boost::system::error_code wait_ec = {}) {
    if (state_ == State::posted) return finish(self);
    if (state_ == State::waiting && wait_ec) {
      result_ = {wait_ec};
      return finish(self);
    }
    result_ = action_(engine_, socket_.native_handle());
    if (result_.want != Want::nothing) {
      if (self.cancelled() != boost::asio::cancellation_type::none) {
        result_ = {boost::asio::error::operation_aborted};
        return finish(self);
      }
      const auto wait = result_.want == Want::read ? boost::asio::socket_base::wait_read
                                                   : boost::asio::socket_base::wait_write;
      state_ = State::waiting;
      socket_.async_wait(wait, std::move(self));
      return;
    }
    if (state_ == State::starting) {
      state_ = State::posted;
      boost::asio::post(std::move(self));
      return;
    }
    finish(self);
  }

 private:
  enum class State : unsigned char { starting, waiting, posted };

  template <class Self>
  void finish(Self& self) {
    if constexpr (kWithBytes) {
      self.complete(result_.ec, result_.ec ? std::size_t{0} : result_.bytes);
    } else {
      self.complete(result_.ec);
    }
  }

  boost::asio::ip::tcp::socket& socket_;
  Engine& engine_;
  Action action_;
  Attempt result_;
  State state_ = State::starting;
};

// Completes when a read can make progress: at once (posted) when the engine holds the peer's
// bytes or has met the end of the stream, else once the socket is ready for what the last read
// asked (readable, or writable for OpenSSL sending a message of its own).
class WaitReadableOp {
 public:
  WaitReadableOp(boost::asio::ip::tcp::socket& socket, const Engine& engine)
      : socket_(socket), engine_(engine) {}

  template <class Self>
  void operator()(Self& self, boost::system::error_code ec = {}) {
    if (started_) return self.complete(ec);
    started_ = true;
    switch (engine_.read_needs()) {
      case Want::nothing:
        boost::asio::post(std::move(self));
        return;
      case Want::read:
        socket_.async_wait(boost::asio::socket_base::wait_read, std::move(self));
        return;
      case Want::write:
        socket_.async_wait(boost::asio::socket_base::wait_write, std::move(self));
        return;
    }
  }

 private:
  boost::asio::ip::tcp::socket& socket_;
  const Engine& engine_;
  bool started_ = false;
};

}  // namespace detail

class Stream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using next_layer_type = boost::asio::ip::tcp::socket;
  using lowest_layer_type = boost::asio::ip::tcp::socket;

  // Takes ownership of ssl (freed by the destructor, also when this constructor throws). Puts the
  // socket in non-blocking mode and sets SSL_MODE_ENABLE_PARTIAL_WRITE,
  // SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, SSL_MODE_AUTO_RETRY and SSL_MODE_RELEASE_BUFFERS.
  // Throws boost::system::system_error when the socket is not open or OpenSSL fails.
  Stream(boost::asio::ip::tcp::socket socket, SSL* ssl) : socket_(std::move(socket)), engine_(ssl) {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    if (!ec && !detail::attach(ssl, socket_.native_handle())) {
      ec = boost::asio::error::no_memory;
    }
    if (ec) throw boost::system::system_error(ec, "tls::Stream");
  }

  Stream(Stream&& other) noexcept = default;
  Stream& operator=(Stream&& other) noexcept = default;
  ~Stream() = default;

  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  next_layer_type& next_layer() { return socket_; }
  lowest_layer_type& lowest_layer() { return socket_; }
  // OpenSSL's object; nullptr once the record layer has taken a server connection over.
  SSL* native_handle() { return engine_.ssl.get(); }

  // The protocol version of the finished handshake.
  TlsVersion version() const { return engine_.version; }
  // The cipher of the finished handshake, by OpenSSL's name ("TLS_AES_128_GCM_SHA256").
  std::string_view cipher_name() const {
    return engine_.cipher ? std::string_view(engine_.cipher) : std::string_view();
  }
  // The name the client asked for in SNI (a server's stream), empty when it sent none.
  std::string_view server_name() const { return engine_.server_name; }
  // Whether the handshake selected HTTP/2 by ALPN.
  bool alpn_h2() const { return engine_.h2; }

  // Introspection, for tests and measurements: whether the record layer protects this
  // connection (after a server handshake) rather than OpenSSL. Reading and writing are the same
  // either way; nothing needs to branch on it.
  bool offloaded() const { return engine_.records != nullptr; }

  // Whether bytes of the peer wait inside the stream rather than in the socket: records read
  // ahead, or plaintext opened and not read yet.
  bool has_buffered_input() const { return engine_.buffered_input(); }

  // A read that does not wait, for a connection that holds no buffer while idle:
  //
  //   if (!stream.read_now(buffer, n, ec)) stream.async_wait_readable(then_read_now_again);
  //
  // True when the read is done: `bytes` > 0 read into buffer, or an error in `ec` (eof after
  // the peer's close_notify or a TCP FIN, as async_read_some), or 0 bytes for an empty buffer.
  // False when nothing can be read yet (bytes 0, no error): wait with async_wait_readable, then
  // try again. Counts as the stream's one outstanding read while it runs.
  bool read_now(boost::asio::mutable_buffer buffer, std::size_t& bytes,
                boost::system::error_code& ec) {
    bytes = 0;
    ec = {};
    if (buffer.size() == 0) return true;
    const detail::Attempt a = engine_.read(socket_.native_handle(), buffer.data(), buffer.size());
    if (a.want != detail::Want::nothing) return false;
    ec = a.ec;
    if (!ec) bytes = a.bytes;
    return true;
  }

  // Waits until read_now can make progress, without holding a read buffer. Completes at once
  // (never inside the initiation) when the stream already holds the peer's bytes (plaintext
  // decrypted and not read, records read ahead) or the last read met the end of the stream or
  // an error; otherwise when the socket becomes ready for what the last read needed: readable,
  // or writable when OpenSSL has a message of its own to send first. A wake-up may still find
  // nothing to read (part of a record, a TLS 1.3 KeyUpdate or session ticket): read_now then
  // returns false and the caller waits again. Cancelling the socket or a terminal cancellation
  // aborts the wait with operation_aborted. Counts as the stream's one outstanding read.
  // Completion: void(error_code).
  template <class Token>
  auto async_wait_readable(Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        detail::WaitReadableOp(socket_, engine_), token, socket_);
  }

  // Server side handshake (SSL_accept). Completion: void(error_code).
  template <class Token>
  auto async_handshake(Token&& token) {
    engine_.begin_accept();
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        detail::Op<detail::AcceptAction, false>(socket_, engine_, {}), token, socket_);
  }

  // Client side handshake (SSL_connect), for re-encrypting towards an upstream.
  // Completion: void(error_code).
  template <class Token>
  auto async_client_handshake(Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        detail::Op<detail::ConnectAction, false>(socket_, engine_, {}), token, socket_);
  }

  // Reads into the first non-empty buffer. Completion: void(error_code, size_t). The peer's
  // close_notify, and also a TCP FIN without one, give boost::asio::error::eof (the application
  // protocol's framing decides whether that truncated anything). 0 bytes only with an error, or
  // when every buffer is empty.
  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        detail::Op<detail::ReadAction, true>(socket_, engine_, {detail::first_non_empty(buffers)}),
        token, socket_);
  }

  // Writes one record's worth or more (a partial write reports how much went out). Several
  // buffers are sent as one record when their start fits in one. Completion:
  // void(error_code, size_t).
  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        detail::Op<detail::WriteAction<ConstBufferSequence>, true>(socket_, engine_, {buffers}),
        token, socket_);
  }

  // Sends close_notify; does not wait for the peer's. Best effort. Completion: void(error_code).
  template <class Token>
  auto async_shutdown(Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        detail::Op<detail::ShutdownAction, false>(socket_, engine_, {}), token, socket_);
  }

 private:
  boost::asio::ip::tcp::socket socket_;
  detail::Engine engine_;
};

// The reason of a failed TLS operation, for logs and metrics: OpenSSL's reason string for errors
// coming from OpenSSL ("wrong version number", "no shared cipher", ...), the error's message
// otherwise, "" for success.
std::string last_error_reason(const boost::system::error_code& ec);

}  // namespace tls
