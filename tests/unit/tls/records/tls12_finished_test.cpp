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

#include "tests/unit/tls/records/memory_bio_client.h"
#include "tests/unit/tls/records/record_builder.h"
#include "tests/unit/tls/stream_harness.h"
#include "tls/secret_capture.h"

namespace {

using namespace tls::testing;

// An OpenSSL client on memory BIOs over a blocking socket, whose Finished is resent one byte
// per record, and whose first request is sealed after them.
class SplittingClient : public MemoryBioClient {
 public:
  SplittingClient(int fd, SSL_CTX* ctx) : MemoryBioClient(fd, SSL_new(ctx)) {
    SSL_set_tlsext_host_name(ssl(), "localhost");
  }

  // Sends `request` in the record after the Finished's last one.
  void send_request(const std::string& request) {
    send(builder_->record(kApplicationData, bytes(request)));
  }

  size_t finished_records = 0;

 private:
  // The Finished (the record after the ChangeCipherSpec) is rewritten.
  bool rewrite(Bytes& flight) override {
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
    flight = std::move(rewritten);
    return true;
  }

  bool split_finished(Bytes& record, Bytes& out) {
    std::array<uint8_t, SSL_MAX_MASTER_KEY_LENGTH> master{};
    std::array<uint8_t, SSL3_RANDOM_SIZE> client_random{};
    std::array<uint8_t, SSL3_RANDOM_SIZE> server_random{};
    const size_t master_size =
        SSL_SESSION_get_master_key(SSL_get_session(ssl()), master.data(), master.size());
    SSL_get_client_random(ssl(), client_random.data(), client_random.size());
    SSL_get_server_random(ssl(), server_random.data(), server_random.size());
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl());
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
