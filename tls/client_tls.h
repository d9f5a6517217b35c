#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

namespace tls {

// The context for connections to upstream servers over TLS (re-encryption), one per pool.
// Cheap to copy: copies share the context.
class ClientTls {
 public:
  ClientTls() = default;  // empty: new_ssl() fails

  // TLS 1.2 or later. With `verify`, the server's chain must lead to a certificate authority
  // of `ca_path` (a PEM file or a hashed directory; empty: the system store) and name the host
  // new_ssl() is given. On failure returns an empty ClientTls and sets `error`.
  static ClientTls make(bool verify, const std::string& ca_path, std::string& error);

  // An SSL in client mode for one connection: SNI set to `server_name` unless it is an IP
  // address, and with `verify`, the certificate checked against that name or address (a
  // bracketed IPv6 address is accepted). Null on failure (with `verify`, also for an empty
  // name). The caller owns it (SSL_free).
  SSL* new_ssl(std::string_view server_name) const;

  explicit operator bool() const { return ctx_ != nullptr; }
  bool verifies() const { return verify_; }
  SSL_CTX* context() const { return ctx_.get(); }

 private:
  std::shared_ptr<SSL_CTX> ctx_;
  bool verify_ = false;
};

}  // namespace tls
