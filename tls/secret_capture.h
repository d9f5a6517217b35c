#pragma once

// What a server handshake must leave behind for its records to be protected outside OpenSSL
// afterwards (see record_layer.h): the TLS 1.3 application traffic secrets, and how many records
// OpenSSL sent under the server's application key (its NewSessionTicket messages).
//
// OpenSSL 3.0 has no call that returns the traffic secrets. Its key log callback does, but
// formats five lines with one sprintf per byte first (about 10 % of a server handshake). So
// the secrets are taken where OpenSSL derives them: its TLS 1.3 key schedule fetches the
// "TLS13-KDF" algorithm with the context's property query. Capturing contexts are made with
// the query "?provider=passeur-secrets", which prefers a small built-in provider whose only
// algorithm is that KDF: it derives the SHA-256 and SHA-384 secrets itself (hkdf.h, about a
// quarter of the default implementation's cost), hands any other derivation to the default
// implementation, and keeps the output of the "c ap traffic" and "s ap traffic" derivations
// when a capture is active on the calling thread (CaptureScope, around each SSL_accept() call
// of the connection).

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

// A new server SSL_CTX (TLS_server_method) whose handshakes can be captured; a plain one when
// the capturing provider could not be loaded. Null when OpenSSL fails.
SSL_CTX* new_capturing_server_context();

// Whether the connection's current context captures secrets.
bool captures_secrets(const SSL* ssl);

// Counts the connection's session tickets into `captured` (nullptr: stops).
void attach_capture(SSL* ssl, CapturedSecrets* captured);

// While it lives, the traffic secrets derived on this thread go to `captured` (may be null).
class CaptureScope {
 public:
  explicit CaptureScope(CapturedSecrets* captured);
  ~CaptureScope();
  CaptureScope(const CaptureScope&) = delete;
  CaptureScope& operator=(const CaptureScope&) = delete;

 private:
  CapturedSecrets* previous_;
};

// Keeps a derivation's output when its label is a traffic secret's and a capture is active.
// Used by the provider; exposed for its tests.
void capture_derived(std::string_view label, const uint8_t* out, size_t size);

}  // namespace tls
