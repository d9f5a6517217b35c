#pragma once

// What a server handshake must leave behind for its records to be protected outside OpenSSL
// afterwards (see record_layer.h): the TLS 1.3 application traffic secrets, taken from OpenSSL's
// key log callback (SSL_CTX_set_keylog_callback, the NSS key log lines), and how many records
// OpenSSL sent under the server's application key (its NewSessionTicket messages).

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "tls/traffic_keys.h"

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

// Installs the key log callback on a server context. Every context a connection can be switched
// to (by SNI) needs it for the connection's secrets to be captured.
void enable_secret_capture(SSL_CTX* ctx);

// Whether the connection's current context captures secrets.
bool captures_secrets(const SSL* ssl);

// Starts (captured != nullptr) or stops capturing the secrets of one connection's handshake.
void attach_capture(SSL* ssl, CapturedSecrets* captured);

// Parses one NSS key log line into `captured` when it is a TLS 1.3 application traffic secret
// (CLIENT_TRAFFIC_SECRET_0 / SERVER_TRAFFIC_SECRET_0 <client random> <secret>). False for any
// other line.
bool parse_key_log_line(const char* line, CapturedSecrets& captured);

}  // namespace tls
