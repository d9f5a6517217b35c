#pragma once

#include <cstdint>
#include <string>

namespace tls {

// One certificate as certbot writes it: the leaf followed by its chain, and the private key.
struct CertSettings {
  std::string cert;  // path of fullchain.pem
  std::string key;   // path of privkey.pem
};

// Who protects the records of a server connection once its handshake is done.
enum class Records : uint8_t {
  openssl,  // OpenSSL, for the connection's whole life (the default)
  passeur,  // Passeur's own record layer (records/), which frees OpenSSL's SSL object
};

// The TLS settings of one listener.
struct ServerOptions {
  Records records = Records::openssl;
  // SSL_OP_ENABLE_KTLS: OpenSSL hands the record protection to the kernel where the kernel, the
  // cipher and OpenSSL allow it. Only with Records::openssl.
  bool ktls = false;
  // ALPN offers h2 before http/1.1: a client that asks for HTTP/2 gets it.
  bool http2 = false;
};

}  // namespace tls
