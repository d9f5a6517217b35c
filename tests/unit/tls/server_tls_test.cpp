#include "tls/server_tls.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>

#include <stdexcept>
#include <string>

#include "tests/unit/tls/in_memory_handshake.h"
#include "tests/unit/tls/test_pki.h"
#include "tls/cert_store.h"
#include "tls/secret_capture.h"

namespace tls {
namespace {

using testing::ClientOptions;
using testing::handshake;
using testing::test_certificates;

constexpr const char* kEcdsaOnly = "ECDSA+SHA256:ECDSA+SHA384";
constexpr const char* kRsaOnly = "RSA-PSS+SHA256:RSA+SHA256:RSA+SHA384";

std::shared_ptr<const CertStore> load_ok(const std::vector<CertSettings>& certs) {
  CertStore::LoadResult result = CertStore::load(certs);
  EXPECT_TRUE(result.errors.empty()) << result.errors.front();
  return result.store;
}

// Hands out one SSL made earlier, as the handshake driver asks for a server SSL.
struct PreparedSsl {
  SSL* new_ssl() const { return ssl; }
  SSL* ssl;
};

class ServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& certs = test_certificates();
    server.set_store(load_ok({certs.webmail_rsa, certs.webmail_ec, certs.wildcard, certs.cloud}),
                     "cloud.example.coop");
  }
  ServerTls server;
};

TEST_F(ServerTlsTest, ClientSignatureAlgorithmsChooseBetweenRsaAndEcdsa) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version);
    auto ec = handshake(server, {.server_name = "webmail.example.coop",
                                 .min_version = version,
                                 .max_version = version,
                                 .sigalgs = kEcdsaOnly});
    ASSERT_TRUE(ec.ok) << ec.client_error << ec.server_error;
    EXPECT_EQ(ec.peer_key_type(), "EC");
    EXPECT_EQ(ec.peer_cn(), "webmail-ec");

    auto rsa = handshake(server, {.server_name = "webmail.example.coop",
                                  .min_version = version,
                                  .max_version = version,
                                  .sigalgs = kRsaOnly});
    ASSERT_TRUE(rsa.ok) << rsa.client_error << rsa.server_error;
    EXPECT_EQ(rsa.peer_key_type(), "RSA");
    EXPECT_EQ(rsa.peer_cn(), "webmail-rsa");
  }
}

TEST_F(ServerTlsTest, SniChoosesTheCertificate) {
  EXPECT_EQ(handshake(server, {.server_name = "dav.example.coop"}).peer_cn(), "cloud");
  EXPECT_EQ(handshake(server, {.server_name = "files.example.coop"}).peer_cn(), "wildcard");
}

TEST_F(ServerTlsTest, WithoutSniOrWithAnUnknownNameTheDefaultIsServed) {
  auto none = handshake(server, {});
  ASSERT_TRUE(none.ok) << none.server_error;
  EXPECT_EQ(none.peer_cn(), "cloud");
  auto unknown = handshake(server, {.server_name = "example.org"});
  ASSERT_TRUE(unknown.ok) << unknown.server_error;
  EXPECT_EQ(unknown.peer_cn(), "cloud");
}

TEST_F(ServerTlsTest, NewStoreServesNewHandshakesOnly) {
  auto before = handshake(server, {.server_name = "files.example.coop"});
  ASSERT_TRUE(before.ok);
  server.set_store(load_ok({test_certificates().cloud}), "");
  auto after = handshake(server, {.server_name = "files.example.coop"});
  ASSERT_TRUE(after.ok);
  EXPECT_EQ(after.peer_cn(), "cloud");
  // The connection made before the swap still has its context and can carry data.
  ASSERT_EQ(SSL_write(before.server.get(), "ping", 4), 4);
  char buffer[4];
  ASSERT_EQ(SSL_read(before.client.get(), buffer, sizeof buffer), 4);
  EXPECT_EQ(std::string(buffer, 4), "ping");
}

TEST_F(ServerTlsTest, WithoutStoreHandshakesFail) {
  server.set_store(nullptr, "");
  EXPECT_FALSE(handshake(server, {.server_name = "webmail.example.coop"}).ok);
}

TEST_F(ServerTlsTest, AlpnSelectsHttp11WhenOffered) {
  auto both = handshake(server, {.server_name = "webmail.example.coop",
                                 .alpn = std::string("\x02h2\x08http/1.1", 12)});
  ASSERT_TRUE(both.ok);
  EXPECT_EQ(both.alpn(), "http/1.1");
}

TEST_F(ServerTlsTest, ClientOfferingOnlyH2GetsNoAlpn) {
  auto h2 = handshake(server, {.server_name = "webmail.example.coop", .alpn = "\x02h2"});
  ASSERT_TRUE(h2.ok) << h2.server_error;
  EXPECT_EQ(h2.alpn(), "");
}

TEST_F(ServerTlsTest, Tls11IsRefused) {
  auto old = handshake(server, {.server_name = "webmail.example.coop",
                                .min_version = TLS1_1_VERSION,
                                .max_version = TLS1_1_VERSION,
                                .legacy = true});
  EXPECT_FALSE(old.ok);
  EXPECT_NE(old.server_error.find("unsupported protocol"), std::string::npos) << old.server_error;
}

TEST_F(ServerTlsTest, Tls12AndTls13AreAccepted) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto hs = handshake(
        server,
        {.server_name = "webmail.example.coop", .min_version = version, .max_version = version});
    ASSERT_TRUE(hs.ok) << hs.client_error << hs.server_error;
    EXPECT_EQ(SSL_version(hs.server.get()), version);
  }
  auto newest = handshake(server, {.server_name = "webmail.example.coop"});
  EXPECT_EQ(SSL_version(newest.server.get()), TLS1_3_VERSION);
}

TEST_F(ServerTlsTest, ClientCipherOrderWins) {
  auto hs =
      handshake(server, {.server_name = "webmail.example.coop",
                         .max_version = TLS1_2_VERSION,
                         .sigalgs = kEcdsaOnly,
                         .ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384"});
  ASSERT_TRUE(hs.ok) << hs.server_error;
  EXPECT_STREQ(SSL_get_cipher_name(hs.server.get()), "ECDHE-ECDSA-CHACHA20-POLY1305");
}

TEST_F(ServerTlsTest, CiphersOutsideTheProfileAreRefused) {
  auto hs = handshake(server, {.server_name = "webmail.example.coop",
                               .max_version = TLS1_2_VERSION,
                               .ciphers = "AES128-SHA:ECDHE-RSA-AES128-SHA"});
  EXPECT_FALSE(hs.ok);
}

TEST_F(ServerTlsTest, GroupsOutsideTheProfileAreRefused) {
  EXPECT_FALSE(
      handshake(server, {.server_name = "webmail.example.coop", .groups = "secp521r1"}).ok);
  EXPECT_TRUE(handshake(server, {.server_name = "webmail.example.coop", .groups = "secp384r1"}).ok);
}

TEST_F(ServerTlsTest, ConnectionsReleaseIdleBuffers) {
  SslPtr ssl(server.new_ssl());
  ASSERT_TRUE(ssl);
  EXPECT_NE(SSL_get_mode(ssl.get()) & SSL_MODE_RELEASE_BUFFERS, 0);
  EXPECT_TRUE(SSL_is_server(ssl.get()));
}

// By default OpenSSL keeps the records: nothing captures secrets, neither the base context nor
// the certificates' contexts SNI switches to, and no key log line is even formatted.
TEST_F(ServerTlsTest, ByDefaultOpenSslKeepsTheRecords) {
  EXPECT_EQ(server.options().records, Records::openssl);
  SslPtr ssl(server.new_ssl());
  ASSERT_TRUE(ssl);
  EXPECT_FALSE(tls::captures_secrets(ssl.get()));
  EXPECT_EQ(SSL_CTX_get_keylog_callback(server.base()), nullptr);
  EXPECT_EQ(SSL_get_read_ahead(ssl.get()), 1);
  EXPECT_EQ(SSL_get_options(ssl.get()) & SSL_OP_ENABLE_KTLS, 0u);
  const std::shared_ptr<const CertStore> store = server.store();
  ASSERT_TRUE(store);
  SSL_CTX* webmail = store->find("webmail.example.coop");
  ASSERT_NE(webmail, nullptr);
  EXPECT_EQ(SSL_CTX_get_keylog_callback(webmail), nullptr);
  SSL_set_SSL_CTX(ssl.get(), webmail);
  EXPECT_FALSE(tls::captures_secrets(ssl.get()));
}

TEST(ServerTlsOptions, KtlsIsAskedOfOpenSslPerListener) {
  ServerTls listener(ServerOptions{.ktls = true});
  listener.set_store(load_ok({test_certificates().cloud}), "");
  SslPtr ssl(listener.new_ssl());
  ASSERT_TRUE(ssl);
  EXPECT_NE(SSL_get_options(ssl.get()) & SSL_OP_ENABLE_KTLS, 0u);
  // No read ahead: OpenSSL hands the receiving side to the kernel only on a record boundary.
  EXPECT_EQ(SSL_get_read_ahead(ssl.get()), 0);
  // The certificate's context SNI switches to keeps the connection's options.
  auto hs = handshake(PreparedSsl{ssl.release()}, {.server_name = "cloud.example.coop"});
  ASSERT_TRUE(hs.ok) << hs.server_error;
  EXPECT_NE(SSL_get_options(hs.server.get()) & SSL_OP_ENABLE_KTLS, 0u);
}

TEST(ServerTlsOptions, KtlsWithPasseursRecordLayerIsRefused) {
  EXPECT_THROW(ServerTls(ServerOptions{.records = Records::passeur, .ktls = true}),
               std::runtime_error);
}

// The DHE suites of TLS 1.2 use ffdhe2048 (RFC 7919), not RFC 3526's group 14.
TEST_F(ServerTlsTest, DheUsesFfdhe2048) {
  auto hs = handshake(server, {.server_name = "webmail.example.coop",
                               .max_version = TLS1_2_VERSION,
                               .sigalgs = kRsaOnly,
                               .ciphers = "DHE-RSA-AES128-GCM-SHA256"});
  ASSERT_TRUE(hs.ok) << hs.client_error << hs.server_error;
  EXPECT_STREQ(SSL_get_cipher_name(hs.client.get()), "DHE-RSA-AES128-GCM-SHA256");
  EVP_PKEY* peer = nullptr;
  ASSERT_EQ(SSL_get_peer_tmp_key(hs.client.get(), &peer), 1);
  EvpPkeyPtr key(peer);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_DH);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 2048);
  BIGNUM* p = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_FFC_P, &p), 1);
  BIGNUM* expected = nullptr;
  // RFC 7919 appendix A.1: the ffdhe2048 prime.
  ASSERT_NE(BN_hex2bn(&expected,
                      "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1"
                      "D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
                      "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD6561"
                      "2433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
                      "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE735"
                      "30ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
                      "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB19"
                      "0B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
                      "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD73"
                      "3BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
                      "886B423861285C97FFFFFFFFFFFFFFFF"),
            0);
  EXPECT_EQ(BN_cmp(p, expected), 0);
  BN_free(expected);
  BN_free(p);
}

TEST_F(ServerTlsTest, BaseContextKeepsSessionsForAllCertificates) {
  SSL_CTX* base = server.base();
  EXPECT_EQ(SSL_CTX_get_session_cache_mode(base), SSL_SESS_CACHE_SERVER);
  EXPECT_EQ(SSL_CTX_sess_get_cache_size(base), ServerTls::kSessionCacheSize);
  EXPECT_EQ(SSL_CTX_get_timeout(base), ServerTls::kSessionLifetimeSeconds);
  EXPECT_EQ(SSL_CTX_get_options(base) & SSL_OP_NO_TICKET, 0u);
  EXPECT_EQ(SSL_CTX_get_options(base) & SSL_OP_CIPHER_SERVER_PREFERENCE, 0u);
}

TEST_F(ServerTlsTest, ConnectionOutlivesItsServerTls) {
  auto listener = std::make_unique<ServerTls>();
  listener->set_store(load_ok({test_certificates().cloud}), "");
  PreparedSsl prepared{listener->new_ssl()};
  listener.reset();
  // The base context and the state its callbacks use live as long as a connection holds them.
  auto hs = handshake(prepared, {.server_name = "cloud.example.coop"});
  ASSERT_TRUE(hs.ok) << hs.server_error;
  EXPECT_EQ(hs.peer_cn(), "cloud");
}

}  // namespace
}  // namespace tls
