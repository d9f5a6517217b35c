#pragma once

// An OpenSSL client on memory BIOs over a blocking socket: its records leave only when it
// flushes them, all that OpenSSL wrote in one send(2), after rewrite() had its say.

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tls::testing {

class MemoryBioClient {
 public:
  // Takes `ssl`; the socket's reads time out after 10 s (a server that loses the client).
  MemoryBioClient(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {
    SSL_set_bio(ssl_, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    const timeval limit{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  }
  virtual ~MemoryBioClient() {
    // Without this, OpenSSL takes its session for a failed one that must not be resumed.
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl_);
  }
  MemoryBioClient(const MemoryBioClient&) = delete;
  MemoryBioClient& operator=(const MemoryBioClient&) = delete;

  // The handshake; its last flight stays in the BIO until the next flush.
  bool handshake() {
    for (;;) {
      const int r = SSL_connect(ssl_);
      if (r == 1) return true;
      if (SSL_get_error(ssl_, r) != SSL_ERROR_WANT_READ || !flush() || !receive()) return false;
    }
  }

  // Up to `size` bytes of application data (less when the connection ends or fails).
  std::string read(size_t size) {
    std::string out;
    std::array<char, 4096> buf;
    while (out.size() < size) {
      const int n = SSL_read(ssl_, buf.data(), static_cast<int>(buf.size()));
      if (n > 0) {
        out.append(buf.data(), static_cast<size_t>(n));
      } else if (SSL_get_error(ssl_, n) != SSL_ERROR_WANT_READ || !flush() || !receive()) {
        break;
      }
    }
    return out;
  }

  SSL* ssl() { return ssl_; }

 protected:
  using Bytes = std::vector<uint8_t>;

  // Sends what OpenSSL wrote since the last flush, rewritten.
  bool flush() {
    BIO* out = SSL_get_wbio(ssl_);
    char* data = nullptr;
    const long size = BIO_get_mem_data(out, &data);
    Bytes flight(data, data + size);
    BIO_reset(out);
    return rewrite(flight) && send(flight);
  }

  bool send(const Bytes& data) {
    for (size_t sent = 0; sent < data.size();) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

 private:
  // What the client's records become on the wire; false to fail the flush.
  virtual bool rewrite(Bytes& /*flight*/) { return true; }

  bool receive() {
    std::array<char, 16384> buf;
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    return n > 0 && BIO_write(SSL_get_rbio(ssl_), buf.data(), static_cast<int>(n)) == n;
  }

  int fd_;
  SSL* ssl_;
};

}  // namespace tls::testing
