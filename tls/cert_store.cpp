#include "tls/cert_store.h"

#include <openssl/err.h>

#include <algorithm>
#include <ctime>

#include "tls/cert_names.h"
#include "tls/loaded_certificate.h"
#include "tls/openssl_error.h"
#include "tls/server_context.h"

namespace tls {
namespace {

// For each name, the certificate serving it for each key type (indices into the loaded list).
using Providers = std::map<std::string, std::map<std::string, size_t>>;

Providers choose_providers(const std::vector<LoadedCertificate>& loaded,
                           std::vector<std::string>& warnings) {
  Providers providers;
  for (size_t i = 0; i < loaded.size(); ++i) {
    const CertificateInfo& info = loaded[i].info;
    for (const std::string& name : info.names) {
      auto [it, inserted] = providers[name].try_emplace(info.key_type, i);
      if (inserted) continue;
      // Two certificates of the same key type for one name (say, an old and a renewed certbot
      // lineage): serve the one that lasts longer.
      const CertificateInfo& other = loaded[it->second].info;
      size_t kept = info.not_after > other.not_after ? i : it->second;
      size_t dropped = kept == i ? it->second : i;
      warnings.push_back(loaded[dropped].info.cert_path + ": " + info.key_type +
                         " certificate for " + name + " is also in " + loaded[kept].info.cert_path +
                         ", which expires no earlier and is used");
      it->second = kept;
    }
  }
  return providers;
}

}  // namespace

CertStore::~CertStore() = default;

CertStore::LoadResult CertStore::load(const std::vector<CertSettings>& certs, bool capturing) {
  LoadResult result;
  if (certs.empty()) {
    result.errors.push_back("no certificate configured");
    return result;
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::vector<LoadedCertificate> loaded;
  for (const CertSettings& settings : certs) {
    if (auto cert = load_certificate(settings, now, result.errors, result.warnings)) {
      loaded.push_back(std::move(*cert));
    }
  }
  if (!result.errors.empty()) return result;

  auto store = std::make_shared<CertStore>(Token{});
  store->capturing_ = capturing;
  for (const LoadedCertificate& cert : loaded) store->certificates_.push_back(cert.info);

  // A context serving a set of certificates; null after adding to result.errors.
  auto make_context = [&](const std::vector<size_t>& set, Records records) -> SSL_CTX* {
    std::string error;
    SslCtxPtr made = make_server_context(error, records);
    if (!made) {
      result.errors.push_back(loaded[set.front()].info.cert_path + ": " + error);
      return nullptr;
    }
    for (size_t index : set) {
      const LoadedCertificate& cert = loaded[index];
      ERR_clear_error();
      if (SSL_CTX_use_cert_and_key(made.get(), cert.leaf.get(), cert.key.get(), cert.chain.get(),
                                   1) != 1) {
        result.errors.push_back(cert.info.cert_path + ": " +
                                take_openssl_error("cannot use this certificate"));
        return nullptr;
      }
    }
    store->contexts_.push_back(std::move(made));
    return store->contexts_.back().get();
  };

  // One context per distinct set of serving certificates, shared by all names it serves.
  std::map<std::vector<size_t>, Contexts> by_set;
  for (const auto& [name, by_type] : choose_providers(loaded, result.warnings)) {
    std::vector<size_t> set;
    for (const auto& [type, index] : by_type) set.push_back(index);
    std::sort(set.begin(), set.end());
    Contexts& ctx = by_set[set];
    if (ctx.plain == nullptr) {
      if ((ctx.plain = make_context(set, Records::openssl)) == nullptr) return result;
      if (capturing && (ctx.capturing = make_context(set, Records::passeur)) == nullptr) {
        return result;
      }
    }
    if (name.starts_with("*.")) {
      store->wildcard_.emplace(name.substr(2), ctx);
    } else {
      store->exact_.emplace(name, ctx);
    }
  }
  const std::string& first_name = store->certificates_.front().names.front();
  store->first_ = first_name.starts_with("*.") ? store->wildcard_.at(first_name.substr(2))
                                               : store->exact_.at(first_name);
  result.store = std::move(store);
  return result;
}

SSL_CTX* CertStore::find(std::string_view server_name, Records records) const {
  const Contexts* found = find_contexts(server_name);
  return found != nullptr ? found->get(records) : nullptr;
}

const CertStore::Contexts* CertStore::find_contexts(std::string_view server_name) const {
  char buffer[256];
  size_t length = normalize_server_name(server_name, buffer);
  if (length == 0) return nullptr;
  std::string_view name(buffer, length);
  if (auto it = exact_.find(name); it != exact_.end()) return &it->second;
  // "*.example.coop" covers exactly one non-empty label before "example.coop".
  size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos) return nullptr;
  if (auto it = wildcard_.find(name.substr(dot + 1)); it != wildcard_.end()) return &it->second;
  return nullptr;
}

SSL_CTX* CertStore::default_context(std::string_view default_name, Records records) const {
  if (default_name.starts_with("*.")) {
    // A wildcard name as written in a certificate.
    auto it = wildcard_.find(default_name.substr(2));
    if (it != wildcard_.end()) return it->second.get(records);
  } else if (!default_name.empty()) {
    if (SSL_CTX* ctx = find(default_name, records)) return ctx;
  }
  return first_.get(records);
}

}  // namespace tls
