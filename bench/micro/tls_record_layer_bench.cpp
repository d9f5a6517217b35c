// What the record layer adds to a server handshake, without any socket: TLS 1.3 handshakes,
// full and resumed, between an OpenSSL client and a server context made as Passeur makes them
// (ECDSA P-256), stepped in memory through a BIO pair. "records" 0: OpenSSL keeps the
// connection (a context without the key log callback); 1: the traffic secrets are captured
// from OpenSSL's key log during the handshake (secret_capture.h) and the record layer takes the
// connection over afterwards (key derivation, two cipher contexts).
#include <benchmark/benchmark.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "tls/records/record_layer.h"
#include "tls/secret_capture.h"
#include "tls/server_context.h"

namespace {

struct Identity {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  Identity() {
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_sign(cert, key, EVP_sha256());
  }
  ~Identity() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

struct Contexts {
  Identity id;
  tls::SslCtxPtr server;
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());

  explicit Contexts(bool records) {
    std::string error;
    if (records) {
      server = tls::make_server_context(error, tls::Records::passeur);
    } else {
      server.reset(SSL_CTX_new(TLS_server_method()));
      SSL_CTX_set_min_proto_version(server.get(), TLS1_2_VERSION);
    }
    SSL_CTX_use_certificate(server.get(), id.cert);
    SSL_CTX_use_PrivateKey(server.get(), id.key);
    SSL_CTX_set_session_cache_mode(server.get(), SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_min_proto_version(client, TLS1_3_VERSION);
    SSL_CTX_set_session_cache_mode(client, SSL_SESS_CACHE_CLIENT);
  }
  ~Contexts() { SSL_CTX_free(client); }
};

// One handshake; returns the client's session for the next one (the caller frees it).
SSL_SESSION* handshake(Contexts& c, SSL_SESSION* session, bool records) {
  SSL* server = SSL_new(c.server.get());
  SSL* client = SSL_new(c.client);
  BIO* server_bio = nullptr;
  BIO* client_bio = nullptr;
  BIO_new_bio_pair(&server_bio, 0, &client_bio, 0);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_accept_state(server);
  SSL_set_connect_state(client);
  if (session != nullptr) SSL_set_session(client, session);
  tls::CapturedSecrets captured;
  if (records) {
    tls::attach_capture(server, &captured);
    SSL_set_read_ahead(server, 0);
  }
  int server_done = 0;
  int client_done = 0;
  for (int i = 0; i < 20 && (server_done != 1 || client_done != 1); ++i) {
    if (client_done != 1) client_done = SSL_do_handshake(client);
    if (server_done != 1) server_done = SSL_do_handshake(server);
  }
  // The client reads the session tickets.
  char byte;
  SSL_read(client, &byte, 1);
  if (records) {
    tls::attach_capture(server, nullptr);
    auto layer = tls::RecordLayer::take_over(server, captured);
    benchmark::DoNotOptimize(layer);
    if (!layer) std::abort();
  }
  ERR_clear_error();
  SSL_SESSION* next = SSL_get1_session(client);
  SSL_set_shutdown(server, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_set_shutdown(client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(client);
  SSL_free(server);
  return next;
}

void BM_HandshakeAndTakeOver(benchmark::State& state) {
  const bool records = state.range(0) != 0;
  const bool resumed = state.range(1) != 0;
  Contexts c(records);
  SSL_SESSION* session = handshake(c, nullptr, records);
  for (auto _ : state) {
    SSL_SESSION* next = handshake(c, resumed ? session : nullptr, records);
    if (resumed) {
      SSL_SESSION_free(session);
      session = next;
    } else {
      SSL_SESSION_free(next);
    }
  }
  SSL_SESSION_free(session);
}

}  // namespace

BENCHMARK(BM_HandshakeAndTakeOver)
    ->ArgNames({"records", "resumed"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);
