#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tls/certificate_info.h"
#include "tls/settings.h"
#include "tls/ssl_handles.h"

namespace tls {

// The certificates of one configuration, ready to serve: one SSL_CTX per distinct set of
// certificates serving a name (an RSA and an ECDSA certificate for the same name share one
// context, and the client's signature algorithms choose between them). Immutable after load
// and shared between threads; a reload loads a new store.
class CertStore {
 public:
  struct LoadResult {
    std::shared_ptr<const CertStore> store;  // null when anything in `errors`
    std::vector<std::string> errors;         // "PATH: message"
    std::vector<std::string> warnings;       // "PATH: message" (expired, unusable names, ...)
  };

  // Reads and checks every certificate; any broken one fails the whole load.
  static LoadResult load(const std::vector<CertSettings>& certs);

  // The context for a client's SNI name: exact name, else a wildcard one label deep;
  // case-insensitive, a trailing dot ignored. Null when none.
  SSL_CTX* find(std::string_view server_name) const;
  // The context for clients without SNI or with an unknown name: the one serving
  // `default_name` when it is set and served, else that of the first certificate.
  SSL_CTX* default_context(std::string_view default_name) const;
  // In configuration order.
  const std::vector<CertificateInfo>& certificates() const { return certificates_; }

  ~CertStore();
  CertStore(const CertStore&) = delete;
  CertStore& operator=(const CertStore&) = delete;

 private:
  struct Token {};

 public:
  explicit CertStore(Token) {}

 private:
  std::vector<CertificateInfo> certificates_;
  std::vector<SslCtxPtr> contexts_;
  std::map<std::string, SSL_CTX*, std::less<>> exact_;
  std::map<std::string, SSL_CTX*, std::less<>> wildcard_;  // keyed by the part after "*."
  SSL_CTX* first_ = nullptr;
};

}  // namespace tls
