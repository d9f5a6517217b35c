#include "tls/records/record_layer.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <array>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/unit/tls/hex.h"
#include "tests/unit/tls/records/memory_bio_client.h"
#include "tests/unit/tls/stream_harness.h"
#include "tls/records/traffic_keys.h"
#include "tls/secret_capture.h"
#include "tls/tls_stream.h"

namespace {

using namespace tls::testing;
using boost::system::error_code;

// ---- Key derivation: RFC 8448 section 3 (simple 1-RTT handshake, TLS_AES_128_GCM_SHA256) -------

TEST(TrafficKeys, ApplicationKeysOfRfc8448) {
  const auto server_secret =
      unhex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643");
  const auto client_secret =
      unhex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5");
  tls::DirectionKey server;
  tls::DirectionKey client;
  ASSERT_TRUE(
      tls::tls13_traffic_key(EVP_sha256(), tls::AeadKind::Aes128Gcm, server_secret, server));
  ASSERT_TRUE(
      tls::tls13_traffic_key(EVP_sha256(), tls::AeadKind::Aes128Gcm, client_secret, client));
  EXPECT_EQ(std::vector<uint8_t>(server.key.begin(), server.key.begin() + 16),
            unhex("9f02283b6c9c07efc26bb9f2ac92e356"));
  EXPECT_EQ(std::vector<uint8_t>(server.iv.begin(), server.iv.end()),
            unhex("cf782b88dd83549aadf1e984"));
  EXPECT_EQ(std::vector<uint8_t>(client.key.begin(), client.key.begin() + 16),
            unhex("17422dda596ed5d9acd890e3c63f5051"));
  EXPECT_EQ(std::vector<uint8_t>(client.iv.begin(), client.iv.end()),
            unhex("5b78923dee08579033e523d9"));
}

// The KeyUpdate derivation, checked against OpenSSL's plain HKDF-Expand with the HkdfLabel of
// RFC 8446 section 7.1 written out here.
TEST(TrafficKeys, NextSecretIsHkdfExpandLabelTrafficUpd) {
  const auto secret = unhex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5");
  std::vector<uint8_t> info = {0, 32, 17};  // length 32, label "tls13 traffic upd", context ""
  for (char c : std::string_view("tls13 traffic upd")) info.push_back(static_cast<uint8_t>(c));
  info.push_back(0);
  std::vector<uint8_t> expected(32);
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", "provider=default");
  ASSERT_NE(kdf, nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end(),
  };
  ASSERT_EQ(EVP_KDF_derive(ctx, expected.data(), expected.size(), params), 1);
  EVP_KDF_CTX_free(ctx);

  std::vector<uint8_t> next = secret;
  ASSERT_TRUE(tls::tls13_next_secret(EVP_sha256(), next));
  EXPECT_EQ(next, expected);
  EXPECT_NE(next, secret);
}

TEST(TrafficKeys, CipherNids) {
  tls::AeadKind kind{};
  EXPECT_TRUE(tls::aead_from_nid(NID_aes_256_gcm, kind));
  EXPECT_EQ(kind, tls::AeadKind::Aes256Gcm);
  EXPECT_TRUE(tls::aead_from_nid(NID_chacha20_poly1305, kind));
  EXPECT_EQ(kind, tls::AeadKind::Chacha20Poly1305);
  EXPECT_FALSE(tls::aead_from_nid(NID_aes_128_cbc, kind));
  for (auto k :
       {tls::AeadKind::Aes128Gcm, tls::AeadKind::Aes256Gcm, tls::AeadKind::Chacha20Poly1305}) {
    EXPECT_NE(tls::aead_cipher(k), nullptr);
  }
}

// ---- Against OpenSSL as the client, per version and cipher -------------------------------------

struct Contexts {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  SSL_CTX* server = nullptr;
  SSL_CTX* client = nullptr;

  Contexts() {
    std::tie(key, cert) = localhost_identity();
    server = tls::new_capturing_server_context();
    SSL_CTX_set_min_proto_version(server, TLS1_2_VERSION);
    SSL_CTX_use_certificate(server, cert);
    SSL_CTX_use_PrivateKey(server, key);
    SSL_CTX_set_session_cache_mode(server, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(server, reinterpret_cast<const unsigned char*>("t"), 1);

    client = SSL_CTX_new(TLS_client_method());
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client), cert);
    SSL_CTX_set_verify(client, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_session_cache_mode(client, SSL_SESS_CACHE_CLIENT);
  }
  ~Contexts() {
    SSL_CTX_free(client);
    SSL_CTX_free(server);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  static Contexts& get() {
    static Contexts contexts;
    return contexts;
  }
};

struct Suite {
  int version;
  const char* cipher;
};

SSL* new_client(const Suite& suite, SSL_SESSION* session) {
  SSL* ssl = SSL_new(Contexts::get().client);
  SSL_set_min_proto_version(ssl, suite.version);
  SSL_set_max_proto_version(ssl, suite.version);
  if (suite.version == TLS1_3_VERSION) {
    SSL_set_ciphersuites(ssl, suite.cipher);
  } else {
    SSL_set_cipher_list(ssl, suite.cipher);
  }
  SSL_set_tlsext_host_name(ssl, "localhost");
  SSL_set1_host(ssl, "localhost");
  if (session != nullptr) SSL_set_session(ssl, session);
  return ssl;
}

struct Connection {
  tls::Stream server;
  tls::Stream client;
};

Connection connect(asio::io_context& io, const Suite& suite, SSL_SESSION* session = nullptr) {
  auto [server, client] = tcp_pair(io);
  return {tls::Stream(std::move(server), SSL_new(Contexts::get().server)),
          tls::Stream(std::move(client), new_client(suite, session))};
}

awaitable<void> handshake(Connection& c) {
  auto server = [&]() -> awaitable<void> {
    auto [ec] = co_await c.server.async_handshake(use_tuple);
    EXPECT_FALSE(ec) << "server: " << tls::last_error_reason(ec);
  };
  auto client = [&]() -> awaitable<void> {
    auto [ec] = co_await c.client.async_client_handshake(use_tuple);
    EXPECT_FALSE(ec) << "client: " << tls::last_error_reason(ec);
  };
  co_await (server() && client());
}

awaitable<void> echo_both_ways(Connection& c, size_t size, unsigned seed) {
  const std::string up = random_bytes(size, seed);
  const std::string down = random_bytes(size, seed + 1);
  std::string back;
  co_await (echo(c.server, up.size()) &&
                [&]() -> awaitable<void> { back = co_await round_trip(c.client, up); }());
  EXPECT_TRUE(back == up) << "client -> server -> client differs";
  co_await (echo(c.client, down.size()) &&
                [&]() -> awaitable<void> { back = co_await round_trip(c.server, down); }());
  EXPECT_TRUE(back == down) << "server -> client -> server differs";
}

class RecordLayerSuite : public ::testing::TestWithParam<Suite> {};

INSTANTIATE_TEST_SUITE_P(Ciphers, RecordLayerSuite,
                         ::testing::Values(Suite{TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256"},
                                           Suite{TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384"},
                                           Suite{TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256"},
                                           Suite{TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"},
                                           Suite{TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384"},
                                           Suite{TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305"}),
                         [](const ::testing::TestParamInfo<Suite>& info) {
                           std::string name = info.param.cipher;
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

// A full handshake, then a resumed one: both connections are taken over, and data, close_notify
// and shutdown go through in both directions.
TEST_P(RecordLayerSuite, FullAndResumedConnections) {
  const Suite suite = GetParam();
  asio::io_context io;
  SSL_SESSION* session = nullptr;
  bool done = false;
  {
    Connection c = connect(io, suite);
    spawn(io, [&]() -> awaitable<void> {
      co_await handshake(c);
      EXPECT_TRUE(c.server.offloaded());
      EXPECT_EQ(c.server.version(),
                suite.version == TLS1_3_VERSION ? tls::TlsVersion::Tls13 : tls::TlsVersion::Tls12);
      EXPECT_STREQ(SSL_CIPHER_get_name(SSL_get_current_cipher(c.client.native_handle())),
                   suite.cipher);
      co_await echo_both_ways(c, 300 * 1000, 7);
      // TLS 1.3 tickets arrive with the server's first records: read by now.
      session = SSL_get1_session(c.client.native_handle());
      auto [sec] = co_await c.server.async_shutdown(use_tuple);
      EXPECT_FALSE(sec) << sec.message();
      std::array<char, 16> buf;
      auto [cec, cn] = co_await c.client.async_read_some(asio::buffer(buf), use_tuple);
      EXPECT_EQ(cec, asio::error::eof) << tls::last_error_reason(cec);
      done = true;
    });
    run(io);
  }
  ASSERT_TRUE(done);
  ASSERT_NE(session, nullptr);

  io.restart();
  done = false;
  {
    Connection c = connect(io, suite, session);
    spawn(io, [&]() -> awaitable<void> {
      co_await handshake(c);
      EXPECT_EQ(SSL_session_reused(c.client.native_handle()), 1);
      EXPECT_TRUE(c.server.offloaded());
      co_await echo_both_ways(c, 40 * 1000, 9);
      co_await write_all(c.client, "bye");
      auto [cec] = co_await c.client.async_shutdown(use_tuple);
      EXPECT_FALSE(cec) << cec.message();
      EXPECT_EQ(co_await read_exactly(c.server, 3), "bye");
      std::array<char, 16> buf;
      auto [ec, n] = co_await c.server.async_read_some(asio::buffer(buf), use_tuple);
      EXPECT_EQ(ec, asio::error::eof) << tls::last_error_reason(ec);
      done = true;
    });
    run(io);
  }
  SSL_SESSION_free(session);
  EXPECT_TRUE(done);
}

const Suite kTls13{TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256"};

// The client updates its key, asking for ours too: both directions keep working, several times.
TEST(RecordLayer, KeyUpdatesFromTheClient) {
  asio::io_context io;
  Connection c = connect(io, kTls13);
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(c);
    EXPECT_TRUE(c.server.offloaded());
    for (int round = 0; round < 3; ++round) {
      const int type = round % 2 == 0 ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED;
      EXPECT_EQ(SSL_key_update(c.client.native_handle(), type), 1);
      const std::string up = "request " + std::to_string(round);
      const std::string down = "response " + std::to_string(round);
      co_await write_all(c.client, up);
      EXPECT_EQ(co_await read_exactly(c.server, up.size()), up);
      co_await write_all(c.server, down);
      EXPECT_EQ(co_await read_exactly(c.client, down.size()), down);
    }
    co_await echo_both_ways(c, 100 * 1000, 3);
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

// Bytes the client did not seal fail the read with OpenSSL's reason, and later reads too.
TEST(RecordLayer, ForgedRecordFailsTheStream) {
  for (const bool oversized : {false, true}) {
    asio::io_context io;
    Connection c = connect(io, kTls13);
    bool done = false;
    spawn(io, [&]() -> awaitable<void> {
      co_await handshake(c);
      co_await write_all(c.client, "genuine");
      EXPECT_EQ(co_await read_exactly(c.server, 7), "genuine");
      std::vector<uint8_t> forged = {0x17, 0x03, 0x03, 0x00, 0x20};
      if (oversized) forged[3] = 0x48;  // 18,432 bytes: more than TLS allows
      forged.resize(5 + 32, 0xab);
      auto [wec, wn] =
          co_await asio::async_write(c.client.lowest_layer(), asio::buffer(forged), use_tuple);
      EXPECT_FALSE(wec);
      std::array<char, 64> buf;
      auto [ec, n] = co_await c.server.async_read_some(asio::buffer(buf), use_tuple);
      EXPECT_EQ(n, 0u);
      EXPECT_EQ(tls::last_error_reason(ec),
                oversized ? "encrypted length too long" : "decryption failed or bad record mac");
      auto [ec2, n2] = co_await c.server.async_read_some(asio::buffer(buf), use_tuple);
      EXPECT_EQ(ec2, ec);
      // The client was told: its next read fails with the alert.
      auto [cec, cn] = co_await c.client.async_read_some(asio::buffer(buf), use_tuple);
      EXPECT_TRUE(cec);
      EXPECT_NE(cec, asio::error::eof);
      done = true;
    });
    run(io);
    EXPECT_TRUE(done) << (oversized ? "oversized" : "forged");
  }
}

// A context that does not capture secrets keeps OpenSSL for the whole connection.
TEST(RecordLayer, WithoutCaptureOpenSslKeepsTheConnection) {
  asio::io_context io;
  SSL_CTX* plain = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(plain, Contexts::get().cert);
  SSL_CTX_use_PrivateKey(plain, Contexts::get().key);
  auto [server_socket, client_socket] = tcp_pair(io);
  Connection c{tls::Stream(std::move(server_socket), SSL_new(plain)),
               tls::Stream(std::move(client_socket), new_client(kTls13, nullptr))};
  SSL_CTX_free(plain);  // the connection holds its own reference
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(c);
    EXPECT_FALSE(c.server.offloaded());
    EXPECT_NE(c.server.native_handle(), nullptr);
    co_await echo_both_ways(c, 20 * 1000, 5);
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

// ---- A client's Finished and its first request in one segment --------------------------------

// An OpenSSL client on a blocking socket whose records leave only when flushed: what it writes
// right after its handshake goes out with its Finished, in one send(2), as a browser's first
// request often does.
class BurstClient : public MemoryBioClient {
 public:
  BurstClient(int fd, const Suite& suite, SSL_SESSION* session)
      : MemoryBioClient(fd, new_client(suite, session)) {}

  // The handshake, then `request` sent with the last flight; false on failure.
  bool connect_and_send(std::string_view request) {
    return handshake() &&
           SSL_write(ssl(), request.data(), static_cast<int>(request.size())) ==
               static_cast<int>(request.size()) &&
           flush();
  }
};

struct BurstCase {
  Suite suite;
  bool resumed;    // TLS 1.2 sends a request with its Finished only when resuming
  bool offloaded;  // a CBC suite stays with OpenSSL, which reads through the same BIO
};

// One connection: the server answers the request that came with the client's Finished.
// Returns the client's session.
SSL_SESSION* burst_connection(const BurstCase& c, SSL_SESSION* session) {
  asio::io_context io;
  auto [server_socket, client_socket] = tcp_pair(io);
  tls::Stream server(std::move(server_socket), SSL_new(Contexts::get().server));
  const std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  bool served = false;
  spawn(io, [&]() -> awaitable<void> {
    auto [ec] = co_await server.async_handshake(use_tuple);
    EXPECT_FALSE(ec) << tls::last_error_reason(ec);
    EXPECT_EQ(server.offloaded(), c.offloaded);
    EXPECT_EQ(co_await read_exactly(server, request.size()), request);
    co_await write_all(server, "reply");
    served = true;
  });
  std::string reply;
  SSL_SESSION* next = nullptr;
  bool reused = false;
  std::thread client([&, fd = client_socket.native_handle()] {
    BurstClient b(fd, c.suite, session);
    if (!b.connect_and_send(request)) return;
    reply = b.read(5);
    reused = SSL_session_reused(b.ssl()) == 1;
    next = SSL_get1_session(b.ssl());
  });
  run(io);
  client.join();
  EXPECT_TRUE(served);
  EXPECT_EQ(reply, "reply");
  EXPECT_EQ(reused, session != nullptr);
  return next;
}

class BurstSuite : public ::testing::TestWithParam<BurstCase> {};

INSTANTIATE_TEST_SUITE_P(
    Flights, BurstSuite,
    ::testing::Values(BurstCase{kTls13, false, true},
                      BurstCase{{TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"}, true, true},
                      BurstCase{{TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA"}, true, false}),
    [](const ::testing::TestParamInfo<BurstCase>& info) {
      std::string name = info.param.suite.cipher;
      for (char& ch : name) {
        if (ch == '-') ch = '_';
      }
      return name;
    });

TEST_P(BurstSuite, RequestSentWithTheClientFinishedIsServed) {
  const BurstCase c = GetParam();
  SSL_SESSION* session = burst_connection(c, nullptr);
  ASSERT_NE(session, nullptr);
  if (c.resumed) {
    SSL_SESSION* again = burst_connection(c, session);
    SSL_SESSION_free(again);
  }
  SSL_SESSION_free(session);
}

}  // namespace
