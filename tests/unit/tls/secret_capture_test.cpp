#include "tls/secret_capture.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>
#include <string_view>
#include <vector>

#include "tests/unit/tls/hex.h"
#include "tests/unit/tls/in_memory_handshake.h"
#include "tests/unit/tls/test_pki.h"
#include "tls/cert_store.h"
#include "tls/server_tls.h"

namespace tls {
namespace {

using testing::test_certificates;
using testing::unhex;

constexpr std::string_view kRandom =
    "0000000000000000000000000000000000000000000000000000000000000001";
constexpr std::string_view kSecret32 =
    "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
constexpr std::string_view kSecret48 =
    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
    "2122232425262728292a2b2c2d2e2f30";

std::string line(std::string_view label, std::string_view random, std::string_view secret) {
  return std::string(label) + " " + std::string(random) + " " + std::string(secret);
}

std::vector<uint8_t> kept(const std::array<uint8_t, kMaxSecret>& secret, size_t size) {
  return {secret.begin(), secret.begin() + static_cast<std::ptrdiff_t>(size)};
}

TEST(SecretCapture, KeepsOnlyTheApplicationTrafficSecrets) {
  CapturedSecrets captured;
  for (auto label : {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                     "EXPORTER_SECRET", "CLIENT_RANDOM"}) {
    EXPECT_TRUE(capture_key_log_line(line(label, kRandom, kSecret32), captured)) << label;
  }
  EXPECT_EQ(captured.client_size, 0u);
  EXPECT_EQ(captured.server_size, 0u);

  EXPECT_TRUE(capture_key_log_line(line("CLIENT_TRAFFIC_SECRET_0", kRandom, kSecret32), captured));
  EXPECT_EQ(captured.client_size, 32u);
  EXPECT_EQ(kept(captured.client, 32), unhex(kSecret32));
  EXPECT_EQ(captured.server_size, 0u);

  EXPECT_TRUE(capture_key_log_line(line("SERVER_TRAFFIC_SECRET_0", kRandom, kSecret48), captured));
  EXPECT_EQ(captured.server_size, 48u);
  EXPECT_EQ(kept(captured.server, 48), unhex(kSecret48));
  EXPECT_EQ(captured.client_size, 32u);
}

TEST(SecretCapture, MalformedLinesKeepNothing) {
  const std::string too_long = std::string(kSecret48) + "00";
  const std::string short_random(kRandom.substr(2));
  for (const std::string& bad : {
           line("SERVER_TRAFFIC_SECRET_0", kRandom, too_long),             // 49 bytes
           line("SERVER_TRAFFIC_SECRET_0", kRandom, kSecret32.substr(1)),  // odd length
           line("SERVER_TRAFFIC_SECRET_0", kRandom, ""),                   // empty
           line("SERVER_TRAFFIC_SECRET_0", short_random, kSecret32),       // short random
           line("SERVER_TRAFFIC_SECRET_0", kRandom, "zz" + std::string(kSecret32.substr(2))),
           std::string("SERVER_TRAFFIC_SECRET_0"),
       }) {
    CapturedSecrets captured;
    EXPECT_FALSE(capture_key_log_line(bad, captured)) << bad;
    EXPECT_EQ(captured.server_size, 0u) << bad;
  }
}

// ---- Handshakes against a listener, the client logging its own secrets
// ---------------------------

std::vector<std::string>& client_log() {
  static std::vector<std::string> lines;
  return lines;
}

void log_client_line(const SSL*, const char* text) {
  client_log().emplace_back(text);
}

// The secret of the client's key log line with this label (empty when none).
std::vector<uint8_t> client_secret(std::string_view label) {
  for (const std::string& l : client_log()) {
    if (l.starts_with(std::string(label) + " ")) return unhex(l.substr(l.rfind(' ') + 1));
  }
  return {};
}

struct Captured {
  testing::Handshake hs;
  CapturedSecrets secrets;
};

// A handshake with the listener, its secrets captured as the stream captures them.
void capture_handshake(const ServerTls& listener, const std::string& server_name, int version,
                       Captured& out) {
  client_log().clear();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), version);
  SSL_CTX_set_max_proto_version(ctx.get(), version);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_keylog_callback(ctx.get(), log_client_line);
  SslPtr client(SSL_new(ctx.get()));
  SSL_set_connect_state(client.get());
  if (!server_name.empty()) SSL_set_tlsext_host_name(client.get(), server_name.c_str());
  SslPtr server(listener.new_ssl());
  if (captures_secrets(server.get())) attach_capture(server.get(), &out.secrets);
  out.hs = testing::connect(std::move(client), std::move(server));
  attach_capture(out.hs.server.get(), nullptr);
}

std::shared_ptr<const CertStore> load(bool capturing) {
  const auto& certs = test_certificates();
  CertStore::LoadResult result =
      CertStore::load({certs.webmail_rsa, certs.webmail_ec, certs.cloud}, capturing);
  EXPECT_TRUE(result.errors.empty()) << result.errors.front();
  return result.store;
}

TEST(SecretCapture, PasseurListenerCapturesWhatOpenSslDerived) {
  ServerTls listener(ServerOptions{.records = Records::passeur});
  listener.set_store(load(true), "cloud.example.coop");
  for (const std::string name : {"webmail.example.coop", "cloud.example.coop", ""}) {
    SCOPED_TRACE(name.empty() ? "no SNI" : name);
    Captured c;
    capture_handshake(listener, name, TLS1_3_VERSION, c);
    ASSERT_TRUE(c.hs.ok) << c.hs.client_error << c.hs.server_error;
    // After SNI the connection is on its certificate's context, which captures too.
    EXPECT_NE(SSL_get_SSL_CTX(c.hs.server.get()), listener.base());
    EXPECT_TRUE(captures_secrets(c.hs.server.get()));
    const std::vector<uint8_t> client = client_secret("CLIENT_TRAFFIC_SECRET_0");
    const std::vector<uint8_t> server = client_secret("SERVER_TRAFFIC_SECRET_0");
    // The suite's hash size: 48 bytes for TLS_AES_256_GCM_SHA384, 32 for the others.
    const auto size = static_cast<size_t>(EVP_MD_get_size(
        SSL_CIPHER_get_handshake_digest(SSL_get_current_cipher(c.hs.server.get()))));
    ASSERT_EQ(client.size(), size);
    ASSERT_EQ(server.size(), size);
    EXPECT_EQ(kept(c.secrets.client, c.secrets.client_size), client);
    EXPECT_EQ(kept(c.secrets.server, c.secrets.server_size), server);
    EXPECT_NE(client, server);
    // OpenSSL sends its session tickets (two by default) under the server's key.
    EXPECT_EQ(c.secrets.tickets_sent, 2u);
  }
}

TEST(SecretCapture, Tls12NeedsNoSecretFromTheKeyLog) {
  ServerTls listener(ServerOptions{.records = Records::passeur});
  listener.set_store(load(true), "");
  Captured c;
  capture_handshake(listener, "webmail.example.coop", TLS1_2_VERSION, c);
  ASSERT_TRUE(c.hs.ok) << c.hs.client_error << c.hs.server_error;
  EXPECT_EQ(c.secrets.client_size, 0u);
  EXPECT_EQ(c.secrets.server_size, 0u);
  EXPECT_EQ(c.secrets.tickets_sent, 0u);
}

TEST(SecretCapture, DefaultListenerCapturesNothing) {
  ServerTls listener;
  listener.set_store(load(true), "");
  Captured c;
  SslPtr probe(listener.new_ssl());
  EXPECT_FALSE(captures_secrets(probe.get()));
  capture_handshake(listener, "webmail.example.coop", TLS1_3_VERSION, c);
  ASSERT_TRUE(c.hs.ok) << c.hs.client_error << c.hs.server_error;
  EXPECT_FALSE(captures_secrets(c.hs.server.get()));
  EXPECT_EQ(SSL_CTX_get_keylog_callback(SSL_get_SSL_CTX(c.hs.server.get())), nullptr);
  EXPECT_EQ(c.secrets.client_size, 0u);
}

TEST(SecretCapture, StoreMakesCapturingContextsOnlyWhenAsked) {
  const auto plain = load(false);
  EXPECT_FALSE(plain->has_capturing_contexts());
  EXPECT_EQ(plain->find("webmail.example.coop", Records::passeur),
            plain->find("webmail.example.coop"));

  const auto both = load(true);
  EXPECT_TRUE(both->has_capturing_contexts());
  SSL_CTX* openssl = both->find("webmail.example.coop");
  SSL_CTX* passeur = both->find("webmail.example.coop", Records::passeur);
  ASSERT_NE(openssl, nullptr);
  ASSERT_NE(passeur, nullptr);
  EXPECT_NE(openssl, passeur);
  EXPECT_EQ(SSL_CTX_get_keylog_callback(openssl), nullptr);
  EXPECT_NE(SSL_CTX_get_keylog_callback(passeur), nullptr);
  EXPECT_NE(both->default_context("", Records::passeur), both->default_context(""));
  EXPECT_NE(SSL_CTX_get_keylog_callback(both->default_context("", Records::passeur)), nullptr);
}

}  // namespace
}  // namespace tls
