#include "tls/client_tls.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/tls/in_memory_handshake.h"
#include "tests/unit/tls/test_pki.h"
#include "tls/cert_store.h"
#include "tls/server_tls.h"

namespace tls {
namespace {

using testing::connect;
using testing::test_certificates;

class ClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& certs = test_certificates();
    // webmail-rsa also names 127.0.0.1; as the default it is what clients without SNI get.
    server.set_store(CertStore::load({certs.webmail_rsa, certs.cloud}).store,
                     "webmail.example.coop");
  }

  testing::Handshake connect_to(const ClientTls& client, const std::string& name) {
    return connect(SslPtr(client.new_ssl(name)), SslPtr(server.new_ssl()));
  }

  ServerTls server;
};

ClientTls make_ok(bool verify, const std::string& ca_path) {
  std::string error;
  ClientTls client = ClientTls::make(verify, ca_path, error);
  EXPECT_TRUE(client) << error;
  return client;
}

TEST_F(ClientTlsTest, VerifiesChainAndHostName) {
  ClientTls client = make_ok(true, test_certificates().pki.ca_path());
  auto hs = connect_to(client, "cloud.example.coop");
  ASSERT_TRUE(hs.ok) << hs.client_error;
  EXPECT_EQ(hs.peer_cn(), "cloud");
  EXPECT_EQ(SSL_get_verify_result(hs.client.get()), X509_V_OK);
  EXPECT_STREQ(SSL_get_servername(hs.server.get(), TLSEXT_NAMETYPE_host_name),
               "cloud.example.coop");
}

TEST_F(ClientTlsTest, RefusesACertificateForAnotherName) {
  ClientTls client = make_ok(true, test_certificates().pki.ca_path());
  // An unknown name gets the default certificate, which does not name it.
  auto hs = connect_to(client, "intranet.example.org");
  EXPECT_FALSE(hs.ok);
  EXPECT_EQ(SSL_get_verify_result(hs.client.get()), X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST_F(ClientTlsTest, VerifiesIpAddressesWithoutSni) {
  ClientTls client = make_ok(true, test_certificates().pki.ca_path());
  auto hs = connect_to(client, "127.0.0.1");
  ASSERT_TRUE(hs.ok) << hs.client_error;
  EXPECT_EQ(SSL_get_servername(hs.server.get(), TLSEXT_NAMETYPE_host_name), nullptr);
  EXPECT_FALSE(connect_to(client, "127.0.0.2").ok);
  EXPECT_EQ(client.new_ssl(""), nullptr);
}

TEST_F(ClientTlsTest, RefusesAnUnknownAuthority) {
  const auto& pki = test_certificates().pki;
  std::string empty_store = pki.write("empty-ca.pem", "");
  std::string error;
  EXPECT_FALSE(ClientTls::make(true, empty_store, error));
  EXPECT_TRUE(error.starts_with(empty_store + ": ")) << error;

  // The system store does not know the test authority.
  ClientTls client = make_ok(true, "");
  auto hs = connect_to(client, "cloud.example.coop");
  EXPECT_FALSE(hs.ok);
}

TEST_F(ClientTlsTest, WithoutVerificationAnyCertificateIsAccepted) {
  ClientTls client = make_ok(false, "");
  EXPECT_TRUE(connect_to(client, "intranet.example.org").ok);
}

TEST_F(ClientTlsTest, MissingCaFileIsAnError) {
  std::string error;
  std::string missing = test_certificates().pki.dir() + "/missing-ca.pem";
  EXPECT_FALSE(ClientTls::make(true, missing, error));
  EXPECT_EQ(error, missing + ": No such file or directory");
}

TEST_F(ClientTlsTest, RequiresTls12) {
  ClientTls client = make_ok(false, "");
  EXPECT_EQ(SSL_CTX_get_min_proto_version(client.context()), TLS1_2_VERSION);
  SslPtr ssl(client.new_ssl("cloud.example.coop"));
  ASSERT_TRUE(ssl);
  EXPECT_FALSE(SSL_is_server(ssl.get()));
  EXPECT_NE(SSL_get_mode(ssl.get()) & SSL_MODE_RELEASE_BUFFERS, 0);
}

}  // namespace
}  // namespace tls
