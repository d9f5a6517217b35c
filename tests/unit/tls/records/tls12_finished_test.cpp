// A TLS 1.2 client may split its Finished across records (RFC 5246 section 6.2.1): each one
// takes a sequence number, so the record layer that takes the connection over reads the
// client's next record at the count the handshake's read BIO kept, not at 1.

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/unit/tls/records/record_builder.h"
#include "tests/unit/tls/stream_harness.h"
#include "tls/secret_capture.h"

namespace {

using namespace tls::testing;

constexpr uint8_t kChangeCipherSpec = 20;
constexpr uint8_t kHandshake = 22;
constexpr uint8_t kApplicationData = 23;

// An OpenSSL client on memory BIOs over a blocking socket, whose Finished is resent one byte
// per record, and whose first request is sealed after them.
class SplittingClient {
 public:
  SplittingClient(int fd, SSL_CTX* ctx) : fd_(fd), ssl_(SSL_new(ctx)) {
    SSL_set_bio(ssl_, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_tlsext_host_name(ssl_, "localhost");
    const timeval limit{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  }
  ~SplittingClient() {
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl_);
  }

  bool handshake() {
    for (;;) {
      const int r = SSL_connect(ssl_);
      if (r == 1) return true;
      if (SSL_get_error(ssl_, r) != SSL_ERROR_WANT_READ || !flush() || !receive()) return false;
    }
  }

  // Sends `request` in the record after the Finished's last one.
  void send_request(const std::string& request) {
    send(builder_->record(kApplicationData, bytes(request)));
  }

  std::string read(size_t size) {
    std::string out;
    std::array<char, 4096> buf;
    while (out.size() < size) {
      const int n = SSL_read(ssl_, buf.data(), static_cast<int>(buf.size()));
      if (n > 0) {
        out.append(buf.data(), static_cast<size_t>(n));
      } else if (SSL_get_error(ssl_, n) != SSL_ERROR_WANT_READ || !receive()) {
        break;
      }
    }
    return out;
  }

  size_t finished_records = 0;

 private:
  // Sends what OpenSSL wrote, its Finished (the record after its ChangeCipherSpec) rewritten.
  bool flush() {
    BIO* out = SSL_get_wbio(ssl_);
    char* data = nullptr;
    const long size = BIO_get_mem_data(out, &data);
    Bytes flight(data, data + size);
    BIO_reset(out);
    Bytes rewritten;
    bool after_ccs = false;
    for (size_t pos = 0; pos + 5 <= flight.size();) {
      const size_t length = static_cast<size_t>(flight[pos + 3]) << 8 | flight[pos + 4];
      Bytes record(flight.begin() + static_cast<std::ptrdiff_t>(pos),
                   flight.begin() + static_cast<std::ptrdiff_t>(pos + 5 + length));
      pos += 5 + length;
      if (!after_ccs) {
        after_ccs = record[0] == kChangeCipherSpec;
        rewritten.insert(rewritten.end(), record.begin(), record.end());
        continue;
      }
      if (!split_finished(record, rewritten)) return false;
    }
    return send(rewritten);
  }

  bool split_finished(Bytes& record, Bytes& out) {
    std::array<uint8_t, SSL_MAX_MASTER_KEY_LENGTH> master{};
    std::array<uint8_t, SSL3_RANDOM_SIZE> client_random{};
    std::array<uint8_t, SSL3_RANDOM_SIZE> server_random{};
    const size_t master_size =
        SSL_SESSION_get_master_key(SSL_get_session(ssl_), master.data(), master.size());
    SSL_get_client_random(ssl_, client_random.data(), client_random.size());
    SSL_get_server_random(ssl_, server_random.data(), server_random.size());
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
    tls::AeadKind kind{};
    tls::DirectionKey client;
    tls::DirectionKey server;
    if (cipher == nullptr || !tls::aead_from_nid(SSL_CIPHER_get_cipher_nid(cipher), kind) ||
        !tls::tls12_traffic_keys(SSL_CIPHER_get_handshake_digest(cipher), kind,
                                 {master.data(), master_size}, client_random, server_random, client,
                                 server)) {
      return false;
    }
    RecordBuilder opener(false, kind, client, 0);
    uint8_t type = 0;
    Bytes finished;
    if (!opener.open(record, type, finished) || type != kHandshake) return false;
    builder_.emplace(false, kind, client, 0);
    for (uint8_t byte : finished) {
      const Bytes one = builder_->tls12(kHandshake, Bytes{byte});
      out.insert(out.end(), one.begin(), one.end());
      ++finished_records;
    }
    return true;
  }

  bool send(const Bytes& data) {
    for (size_t sent = 0; sent < data.size();) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  bool receive() {
    std::array<char, 16384> buf;
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    return n > 0 && BIO_write(SSL_get_rbio(ssl_), buf.data(), static_cast<int>(n)) == n;
  }

  int fd_;
  SSL* ssl_;
  std::optional<RecordBuilder> builder_;
};

TEST(Tls12Finished, FinishedInOneByteRecordsThenData) {
  auto [key, cert] = localhost_identity();
  SSL_CTX* server_ctx = tls::new_capturing_server_context();
  ASSERT_NE(server_ctx, nullptr);
  SSL_CTX_use_certificate(server_ctx, cert);
  SSL_CTX_use_PrivateKey(server_ctx, key);
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(client_ctx, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(client_ctx, "ECDHE-ECDSA-AES128-GCM-SHA256");
  SSL_CTX_set_session_cache_mode(client_ctx, SSL_SESS_CACHE_OFF);

  asio::io_context io;
  auto [server_socket, client_socket] = tcp_pair(io);
  tls::Stream server(std::move(server_socket), SSL_new(server_ctx));
  const std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  bool served = false;
  spawn(io, [&]() -> awaitable<void> {
    auto [ec] = co_await server.async_handshake(use_tuple);
    EXPECT_FALSE(ec) << tls::last_error_reason(ec);
    EXPECT_TRUE(server.offloaded());
    EXPECT_EQ(co_await read_exactly(server, request.size()), request);
    co_await write_all(server, "reply");
    served = true;
  });
  std::string reply;
  size_t finished_records = 0;
  std::thread client([&, fd = client_socket.native_handle()] {
    SplittingClient c(fd, client_ctx);
    if (!c.handshake()) return;
    finished_records = c.finished_records;
    c.send_request(request);
    reply = c.read(5);
  });
  run(io);
  client.join();
  EXPECT_EQ(finished_records, 16u);  // 4 bytes of header, 12 of verify_data
  EXPECT_TRUE(served);
  EXPECT_EQ(reply, "reply");
  SSL_CTX_free(client_ctx);
  SSL_CTX_free(server_ctx);
  X509_free(cert);
  EVP_PKEY_free(key);
}

}  // namespace
