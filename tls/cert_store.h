#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tls/certificate_info.h"
#include "tls/loaded_certificate.h"
#include "tls/settings.h"
#include "tls/ssl_handles.h"

namespace tls {

// The certificates of one configuration, ready to serve: one SSL_CTX per distinct set of
// certificates serving a name (an RSA and an ECDSA certificate for the same name share one
// context, and the client's signature algorithms choose between them). Immutable after load
// and shared between threads; a reload loads a new store.
//
// Listeners with Passeur's record layer need contexts that capture the traffic secrets
// (secret_capture.h): OpenSSL reads the key log callback from the context SNI switched to. A
// store loaded for them holds a second, capturing context beside each one.
class CertStore {
 public:
  struct LoadResult {
    std::shared_ptr<const CertStore> store;  // null when anything in `errors`
    std::vector<std::string> errors;         // "PATH: message"
    std::vector<std::string> warnings;       // "PATH: message" (expired, unusable names, ...)
  };

  // Reads and checks every certificate; any broken one fails the whole load. With
  // `capturing`, also makes the capturing contexts (for Records::passeur). With `previous` (the
  // store in use, on a reload), files whose bytes did not change are not parsed again, and a set
  // of certificates that serves the same certificates as one of `previous` keeps that store's
  // context: parsing the key (OpenSSL 3.0's decoder) and making an SSL_CTX are most of a
  // certificate's load time, so a reload that renews one certificate among thousands parses one
  // and makes one context. Contexts are immutable once loaded, so two stores can share one.
  static LoadResult load(const std::vector<CertSettings>& certs, bool capturing = false,
                         const CertStore* previous = nullptr);

  // How many contexts the last load() made, and how many it kept from `previous`.
  size_t contexts_made() const { return made_; }
  size_t contexts_kept() const { return kept_; }

  // The context for a client's SNI name: exact name, else a wildcard one label deep;
  // case-insensitive, a trailing dot ignored. Null when none. For Records::passeur, the
  // capturing context when the store has them (else the plain one: OpenSSL then keeps the
  // connection's records).
  SSL_CTX* find(std::string_view server_name, Records records = Records::openssl) const;
  // The context for clients without SNI or with an unknown name: the one serving
  // `default_name` when it is set and served, else that of the first certificate.
  SSL_CTX* default_context(std::string_view default_name, Records records = Records::openssl) const;
  bool has_capturing_contexts() const { return capturing_; }
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
  // The contexts serving one set of certificates; `capturing` null unless loaded with them.
  struct Contexts {
    SSL_CTX* plain = nullptr;
    SSL_CTX* capturing = nullptr;
    SSL_CTX* get(Records records) const {
      return records == Records::passeur && capturing != nullptr ? capturing : plain;
    }
  };
  const Contexts* find_contexts(std::string_view server_name) const;

  std::vector<CertificateInfo> certificates_;
  std::vector<SslCtxPtr> contexts_;
  std::map<std::string, Contexts, std::less<>> exact_;
  std::map<std::string, Contexts, std::less<>> wildcard_;  // keyed by the part after "*."
  // Every context by its set's files (their SHA-256, LoadedCertificate::files_digest, in
  // order): what a later load() reuses.
  std::map<std::string, Contexts, std::less<>> by_content_;
  // Every certificate as loaded, by its two paths ("CERT\nKEY"): what a later load() compares.
  std::map<std::string, LoadedCertificate, std::less<>> by_paths_;
  Contexts first_;
  size_t made_ = 0;
  size_t kept_ = 0;
  bool capturing_ = false;
};

}  // namespace tls
