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

std::string paths_key(const std::string& cert, const std::string& key) {
  return cert + '\n' + key;
}

// What a set of certificates serves, as its files' bytes (LoadedCertificate::files_digest):
// the same bytes, the same certificates and keys. Empty when a digest is missing: no reuse.
std::string content_key(const std::vector<LoadedCertificate>& loaded,
                        const std::vector<size_t>& set) {
  std::string key;
  for (size_t index : set) {
    const std::string& digest = loaded[index].files_digest;
    if (digest.empty()) return {};
    key += digest;
  }
  return key;
}

}  // namespace

CertStore::~CertStore() = default;

CertStore::LoadResult CertStore::load(const std::vector<CertSettings>& certs, bool capturing,
                                      const CertStore* previous) {
  LoadResult result;
  if (certs.empty()) {
    result.errors.push_back("no certificate configured");
    return result;
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::vector<LoadedCertificate> loaded;
  for (const CertSettings& settings : certs) {
    const LoadedCertificate* before = nullptr;
    if (previous != nullptr) {
      auto it = previous->by_paths_.find(paths_key(settings.cert, settings.key));
      if (it != previous->by_paths_.end()) before = &it->second;
    }
    if (auto cert = load_certificate(settings, now, result.errors, result.warnings, before)) {
      loaded.push_back(std::move(*cert));
    }
  }
  if (!result.errors.empty()) return result;

  auto store = std::make_shared<CertStore>(Token{});
  store->capturing_ = capturing;
  for (const LoadedCertificate& cert : loaded) {
    store->certificates_.push_back(cert.info);
    store->by_paths_.emplace(paths_key(cert.info.cert_path, cert.info.key_path), cert.share());
  }

  // A context serving a set of certificates; null after adding to result.errors. `kept`: the
  // previous store's context for the same certificates, shared when there is one.
  auto make_context = [&](const std::vector<size_t>& set, Records records,
                          SSL_CTX* kept) -> SSL_CTX* {
    if (kept != nullptr && SSL_CTX_up_ref(kept) == 1) {
      store->contexts_.emplace_back(kept);
      ++store->kept_;
      return kept;
    }
    ++store->made_;
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
      std::string content = content_key(loaded, set);
      Contexts before;
      if (previous != nullptr && !content.empty()) {
        if (auto it = previous->by_content_.find(content); it != previous->by_content_.end())
          before = it->second;
      }
      if ((ctx.plain = make_context(set, Records::openssl, before.plain)) == nullptr) return result;
      if (capturing &&
          (ctx.capturing = make_context(set, Records::passeur, before.capturing)) == nullptr) {
        return result;
      }
      if (!content.empty()) store->by_content_.emplace(std::move(content), ctx);
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
