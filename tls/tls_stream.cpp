#include "tls/tls_stream.h"

#include "tls/read_bio.h"

#include <openssl/err.h>

#include <boost/asio/ssl/error.hpp>
#include <cerrno>

namespace tls {
namespace detail {
namespace {

boost::system::error_code from_openssl(unsigned long e) {
  if (e == 0) return boost::asio::ssl::error::unexpected_result;
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
  // OpenSSL 3 reports a FIN without close_notify this way.
  if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    return boost::asio::error::eof;
  }
#endif
  return {static_cast<int>(e), boost::asio::error::get_ssl_category()};
}

// Classifies a call that returned ret <= 0. saved_errno is errno right after the call.
Attempt failed(SSL* ssl, int ret, int saved_errno) {
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
      return {.want = Want::read};
    case SSL_ERROR_WANT_WRITE:
      return {.want = Want::write};
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      return {boost::asio::error::eof};
    case SSL_ERROR_SYSCALL: {
      const unsigned long e = ERR_get_error();
      ERR_clear_error();
      if (e != 0) return {from_openssl(e)};
      if (saved_errno == 0) return {boost::asio::error::eof};
      return {{saved_errno, boost::system::system_category()}};
    }
    case SSL_ERROR_SSL: {
      const unsigned long e = ERR_get_error();
      ERR_clear_error();
      return {from_openssl(e)};
    }
    default:  // callbacks that would suspend the handshake are not used with this stream
      ERR_clear_error();
      return {boost::asio::ssl::error::unexpected_result};
  }
}

template <class Call>
Attempt attempt(SSL* ssl, Call call) {
  ERR_clear_error();
  errno = 0;
  std::size_t bytes = 0;
  const int ret = call(bytes);
  if (ret > 0) return {.bytes = bytes};
  return failed(ssl, ret, errno);
}

}  // namespace

bool attach(SSL* ssl, int fd) {
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                        SSL_MODE_AUTO_RETRY | SSL_MODE_RELEASE_BUFFERS);
  if (SSL_set_fd(ssl, fd) != 1) {
    ERR_clear_error();
    return false;
  }
  return true;
}

Attempt try_accept(SSL* ssl) {
  return attempt(ssl, [&](std::size_t&) { return SSL_accept(ssl); });
}

Attempt try_connect(SSL* ssl) {
  return attempt(ssl, [&](std::size_t&) { return SSL_connect(ssl); });
}

Attempt try_read(SSL* ssl, void* data, std::size_t size) {
  return attempt(ssl, [&](std::size_t& n) { return SSL_read_ex(ssl, data, size, &n); });
}

Attempt try_write(SSL* ssl, const void* data, std::size_t size) {
  return attempt(ssl, [&](std::size_t& n) { return SSL_write_ex(ssl, data, size, &n); });
}

Attempt try_shutdown(SSL* ssl) {
  // 0: our close_notify is out and the peer's has not come; we do not wait for it.
  return attempt(ssl, [&](std::size_t&) {
    const int r = SSL_shutdown(ssl);
    return r == 0 ? 1 : r;
  });
}

void SslClose::operator()(SSL* ssl) const {
  if (SSL_is_init_finished(ssl)) SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl);
}

void Engine::begin_accept() {
  if (!ssl || captured || !captures_secrets(ssl.get())) return;
  captured = std::make_unique<CapturedSecrets>();
  attach_capture(ssl.get(), captured.get());
  // Records one at a time: what the client sends after its Finished is not OpenSSL's. The
  // socket is read through a BIO that keeps it (read_bio.h).
  SSL_set_read_ahead(ssl.get(), 0);
  if (BIO* rbio = new_read_bio(SSL_get_rfd(ssl.get()))) SSL_set0_rbio(ssl.get(), rbio);
}

void Engine::handshake_done() {
  version = negotiated_version(ssl.get());
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl.get())) cipher = SSL_CIPHER_get_name(c);
  if (SSL_is_server(ssl.get()) != 0) {
    if (const char* name = SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name))
      server_name = name;
  }
  const unsigned char* alpn = nullptr;
  unsigned int alpn_length = 0;
  SSL_get0_alpn_selected(ssl.get(), &alpn, &alpn_length);
  h2 = alpn_length == 2 && alpn[0] == 'h' && alpn[1] == '2';
  if (!captured) return;
  attach_capture(ssl.get(), nullptr);
  records = RecordLayer::take_over(ssl.get(), *captured, unread(SSL_get_rbio(ssl.get())));
  captured.reset();
  if (records) ssl.reset();
}

Attempt Engine::read(int fd, void* data, std::size_t size) {
  Attempt a = records ? records->read(fd, data, size) : try_read(ssl.get(), data, size);
  if (a.ec) {
    last_read = LastRead::ended;
  } else if (a.want == Want::read) {
    last_read = LastRead::want_read;
  } else if (a.want == Want::write) {
    last_read = LastRead::want_write;
  } else {
    last_read = LastRead::bytes;
  }
  return a;
}

bool Engine::buffered_input() const {
  if (records) return records->has_input();
  return ssl != nullptr && (SSL_has_pending(ssl.get()) || !unread(SSL_get_rbio(ssl.get())).empty());
}

Want Engine::read_needs() const {
  switch (last_read) {
    case LastRead::ended:
      return Want::nothing;  // the next read reports the end again
    case LastRead::want_read:
      // What the engine still holds is part of a record: the rest comes through the socket.
      return Want::read;
    case LastRead::want_write:
      return Want::write;
    case LastRead::bytes:
      break;
  }
  // Last read gave bytes (or none was made since the handshake): more may be held here, which
  // no readiness event would announce. Part of a record counts too; the read then asks for the
  // socket, and the wait after it is on the socket.
  return buffered_input() ? Want::nothing : Want::read;
}

unsigned char* gather_buffer() {
  thread_local unsigned char buffer[kGatherLimit];
  return buffer;
}

}  // namespace detail

std::string last_error_reason(const boost::system::error_code& ec) {
  if (!ec) return {};
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    if (const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) {
      return reason;
    }
  }
  return ec.message();
}

}  // namespace tls
