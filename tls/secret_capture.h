#pragma once

// What a server handshake must leave behind for Passeur's own record layer (record_layer.h) to
// protect the connection's records afterwards: the TLS 1.3 application traffic secrets, and how
// many records OpenSSL sent under the server's application key (its NewSessionTicket messages).
// TLS 1.2 needs nothing from here: the record layer reads the master secret and the randoms
// from the connection's session.
//
// OpenSSL derives every secret with its own key schedule; the secrets are read from its key log
// callback (SSL_CTX_set_keylog_callback), which it calls with one NSS key log line per secret
// ("CLIENT_TRAFFIC_SECRET_0 <client random> <secret>", hex). Only capturing contexts have the
// callback, since OpenSSL formats those lines only for them: the contexts of listeners with
// tls_records = "passeur". The callback takes the secrets of the connection's current context,
// which after SNI is its certificate's: those contexts capture too (cert_store.h). It keeps the
// two application traffic secrets of a connection a capture is attached to, and nothing else.

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tls/records/traffic_keys.h"

namespace tls {

struct CapturedSecrets {
  std::array<uint8_t, kMaxSecret> client{};
  std::array<uint8_t, kMaxSecret> server{};
  size_t client_size = 0;
  size_t server_size = 0;
  uint64_t tickets_sent = 0;  // TLS 1.3 NewSessionTicket messages, one record each

  CapturedSecrets() = default;
  ~CapturedSecrets();
  CapturedSecrets(const CapturedSecrets&) = delete;
  CapturedSecrets& operator=(const CapturedSecrets&) = delete;
};

// Makes `ctx` a capturing context: marks it and sets its key log callback. False when OpenSSL
// fails.
bool enable_capture(SSL_CTX* ctx);

// A new capturing server SSL_CTX (TLS_server_method). Null when OpenSSL fails.
SSL_CTX* new_capturing_server_context();

// Whether the connection's current context captures secrets.
bool captures_secrets(const SSL* ssl);

// Sends the connection's application traffic secrets and session ticket count to `captured`
// (nullptr: stops). `captured` must outlive the attachment.
void attach_capture(SSL* ssl, CapturedSecrets* captured);

// Keeps the secret of one NSS key log line into `captured` when the line is the client's or the
// server's first application traffic secret; ignores any other line. False for a line of either
// label that is not well formed (nothing kept then). Used by the key log callback; exposed for
// its tests.
bool capture_key_log_line(std::string_view line, CapturedSecrets& captured);

}  // namespace tls
