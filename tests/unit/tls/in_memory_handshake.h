#pragma once

// Drives a TLS handshake between a test client and a server SSL in memory: the two SSL objects
// are joined by a BIO pair and stepped in turn until both finish or one fails.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>
#include <utility>

#include "tls/openssl_error.h"
#include "tls/ssl_handles.h"

namespace tls::testing {

struct ClientOptions {
  std::string server_name;  // SNI; empty: none
  int min_version = 0;      // 0: library default
  int max_version = 0;
  std::string sigalgs;  // "ECDSA+SHA256:..."; empty: default
  std::string ciphers;  // TLS 1.2 cipher list; empty: default
  std::string groups;   // empty: default
  std::string alpn;     // wire format ("\x08http/1.1"); empty: no ALPN
  bool legacy = false;  // security level 0, so that TLS 1.0/1.1 can be offered at all
  bool no_ticket = false;
  SSL_SESSION* session = nullptr;  // to resume
};

struct Handshake {
  Handshake() = default;
  Handshake(Handshake&&) = default;
  Handshake& operator=(Handshake&&) = default;
  // Both ends close as after close_notify. OpenSSL forgets the session of a connection freed
  // without it (dropped from the server cache, marked not resumable on the client).
  ~Handshake() {
    for (SSL* ssl : {client.get(), server.get()}) {
      if (ssl != nullptr) SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    }
  }

  SslPtr client;
  SslPtr server;
  bool ok = false;
  std::string client_error;
  std::string server_error;

  X509* peer() const { return SSL_get0_peer_certificate(client.get()); }
  // The subject CN of the certificate the server presented ("" without one).
  std::string peer_cn() const {
    X509* cert = peer();
    if (cert == nullptr) return "";
    char buffer[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buffer, sizeof buffer);
    return buffer;
  }
  std::string peer_key_type() const {
    X509* cert = peer();
    if (cert == nullptr) return "";
    switch (EVP_PKEY_get_base_id(X509_get0_pubkey(cert))) {
      case EVP_PKEY_RSA:
        return "RSA";
      case EVP_PKEY_EC:
        return "EC";
      default:
        return "other";
    }
  }
  std::string alpn() const {
    const unsigned char* data = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(server.get(), &data, &length);
    return std::string(reinterpret_cast<const char*>(data), length);
  }
  bool reused() const { return SSL_session_reused(client.get()) == 1; }
  // The client's session, to resume in a later handshake (caller frees it).
  SSL_SESSION* session() const { return SSL_get1_session(client.get()); }
};

inline bool step(SSL* ssl, bool& done, std::string& error) {
  if (done) return true;
  ERR_clear_error();
  int result = SSL_do_handshake(ssl);
  if (result == 1) {
    done = true;
    return true;
  }
  int code = SSL_get_error(ssl, result);
  if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return true;
  error = take_openssl_error("handshake failed");
  return false;
}

// Lets the client read what the server sent after the handshake (TLS 1.3 session tickets).
inline void read_pending(SSL* ssl) {
  char byte;
  ERR_clear_error();
  SSL_read(ssl, &byte, 1);
  ERR_clear_error();
}

// Joins a client and a server SSL and runs the handshake to its end.
inline Handshake connect(SslPtr client, SslPtr server) {
  Handshake out;
  out.client = std::move(client);
  out.server = std::move(server);
  if (!out.client || !out.server) {
    out.client_error = "no SSL object";
    return out;
  }
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(out.client.get(), client_bio, client_bio);
  SSL_set_bio(out.server.get(), server_bio, server_bio);

  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
    if (!step(out.client.get(), client_done, out.client_error)) return out;
    if (!step(out.server.get(), server_done, out.server_error)) return out;
  }
  out.ok = client_done && server_done;
  if (out.ok) read_pending(out.client.get());
  return out;
}

// A handshake between `server.new_ssl()` and a client configured by `options`.
template <typename Server>
Handshake handshake(const Server& server, const ClientOptions& options) {
  Handshake out;
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (options.legacy) {
    SSL_CTX_set_security_level(ctx.get(), 0);
    SSL_CTX_set_cipher_list(ctx.get(), "DEFAULT:@SECLEVEL=0");
  }
  if (options.min_version != 0) SSL_CTX_set_min_proto_version(ctx.get(), options.min_version);
  if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), options.max_version);
  if (!options.sigalgs.empty()) SSL_CTX_set1_sigalgs_list(ctx.get(), options.sigalgs.c_str());
  if (!options.ciphers.empty()) SSL_CTX_set_cipher_list(ctx.get(), options.ciphers.c_str());
  if (!options.groups.empty()) SSL_CTX_set1_groups_list(ctx.get(), options.groups.c_str());
  if (options.no_ticket) SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);

  out.client.reset(SSL_new(ctx.get()));
  out.server.reset(server.new_ssl());
  if (!out.client || !out.server) return connect(std::move(out.client), std::move(out.server));
  SSL_set_connect_state(out.client.get());
  if (!options.server_name.empty()) {
    SSL_set_tlsext_host_name(out.client.get(), options.server_name.c_str());
  }
  if (!options.alpn.empty()) {
    SSL_set_alpn_protos(out.client.get(),
                        reinterpret_cast<const unsigned char*>(options.alpn.data()),
                        static_cast<unsigned int>(options.alpn.size()));
  }
  if (options.session != nullptr) SSL_set_session(out.client.get(), options.session);

  return connect(std::move(out.client), std::move(out.server));
}

}  // namespace tls::testing
