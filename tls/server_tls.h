#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tls/settings.h"
#include "tls/ssl_handles.h"

namespace tls {

class CertStore;
class TicketKeys;
namespace detail {
struct ListenerState;
}

// The base context of one TLS listener. Every accepted connection starts on it; the SNI callback
// then moves the connection to the context of its certificate in the current store. The base
// context holds what must survive that switch: the server-side session cache and the session
// ticket keys (OpenSSL keeps using the context a connection was created from for sessions).
class ServerTls {
 public:
  static constexpr long kSessionCacheSize = 20'000;
  static constexpr long kSessionLifetimeSeconds = 24 * 3600;

  // Builds the base context: protocols, ciphers, groups, ALPN, session cache, ticket keys,
  // SNI callback, and the listener's options (who protects the records, kernel TLS). Throws
  // std::runtime_error on failure.
  ServerTls();
  explicit ServerTls(ServerOptions options);
  // The same, with the clock the ticket keys rotate by (unix seconds).
  explicit ServerTls(std::function<int64_t()> clock, ServerOptions options = {});
  ~ServerTls();
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;

  // Thread-safe: new handshakes use the new store (its capturing contexts for a listener with
  // Records::passeur, see CertStore::load); connections already open keep the
  // certificate context they were given (each SSL holds a reference to it). A null store makes
  // handshakes fail. `default_name` picks the certificate for clients without SNI or with an
  // unknown name (see CertStore::default_context).
  void set_store(std::shared_ptr<const CertStore> store, std::string default_name);
  std::shared_ptr<const CertStore> store() const;

  // An SSL for one accepted connection (server mode, buffers released when idle), or null.
  // The caller owns it (SSL_free).
  SSL* new_ssl() const;
  SSL_CTX* base() const { return base_.get(); }
  TicketKeys& ticket_keys() const;
  const ServerOptions& options() const { return options_; }

 private:
  ServerOptions options_;
  SslCtxPtr base_;
  detail::ListenerState* state_ = nullptr;  // owned by base_ (freed with it, through ex_data)
};

}  // namespace tls
