#include "tls/loaded_certificate.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

#include "tls/cert_names.h"
#include "tls/openssl_error.h"

namespace tls {
namespace {

// PEM files of a certificate chain or a key are a few kilobytes.
constexpr size_t kMaxFileBytes = 1 << 20;

struct FileClose {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

// Reads a whole file; on failure returns false and sets `error` to the reason.
bool read_file(const std::string& path, std::string& content, std::string& error) {
  std::unique_ptr<std::FILE, FileClose> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    error = std::strerror(errno);
    return false;
  }
  content.clear();
  char buffer[8192];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) {
    content.append(buffer, n);
    if (content.size() > kMaxFileBytes) {
      error = "file is larger than 1 MiB";
      return false;
    }
  }
  if (std::ferror(file.get())) {
    error = std::strerror(errno);
    return false;
  }
  return true;
}

BioPtr memory_bio(const std::string& content) {
  return BioPtr(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
}

// Keys are never encrypted here; refusing a passphrase keeps OpenSSL from prompting a terminal.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

bool parse_chain(const std::string& pem, LoadedCertificate& out, std::string& error) {
  ERR_clear_error();
  BioPtr bio = memory_bio(pem);
  out.chain.reset(sk_X509_new_null());
  if (!bio || !out.chain) {
    error = take_openssl_error("out of memory");
    return false;
  }
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (!out.leaf) {
      out.leaf.reset(cert);
    } else if (!sk_X509_push(out.chain.get(), cert)) {
      X509_free(cert);
      error = take_openssl_error("out of memory");
      return false;
    }
  }
  // The loop ends at the end of the data ("no start line") or at a broken block.
  unsigned long last = ERR_peek_last_error();
  if (out.leaf && ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
    return true;
  }
  error = out.leaf ? take_openssl_error("unreadable certificate in chain")
                   : "no PEM certificate found (" + take_openssl_error("empty file") + ")";
  return false;
}

bool parse_key(const std::string& pem, LoadedCertificate& out, std::string& error) {
  ERR_clear_error();
  BioPtr bio = memory_bio(pem);
  if (bio) out.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!out.key) {
    error = "no usable PEM private key (" + take_openssl_error("empty file") + ")";
    return false;
  }
  return true;
}

bool to_unix(const ASN1_TIME* time, int64_t& out) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return false;
  out = static_cast<int64_t>(timegm(&tm));
  return true;
}

std::string key_type_name(const EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "RSA";
    case EVP_PKEY_RSA_PSS:
      return "RSA-PSS";
    case EVP_PKEY_EC:
      return "EC";
    case EVP_PKEY_ED25519:
      return "ED25519";
    case EVP_PKEY_ED448:
      return "ED448";
    default:
      return EVP_PKEY_get0_type_name(key) != nullptr ? EVP_PKEY_get0_type_name(key) : "unknown";
  }
}

// Appends the SHA-256 of `content` to `out` (nothing when OpenSSL fails: no reuse then).
bool append_sha256(const std::string& content, std::string& out) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(content.data(), content.size(), md, &length, EVP_sha256(), nullptr) != 1) {
    ERR_clear_error();
    return false;
  }
  out.append(reinterpret_cast<const char*>(md), length);
  return true;
}

// Parses what read_file gave for the chain and the key, and checks them.
bool parse(const CertSettings& settings, const std::string& chain_pem, const std::string& key_pem,
           LoadedCertificate& out, std::string& error_path, std::string& error) {
  const std::string& cert_path = settings.cert;
  const std::string& key_path = settings.key;
  error_path = cert_path;
  if (!parse_chain(chain_pem, out, error)) return false;
  error_path = key_path;
  if (!parse_key(key_pem, out, error)) return false;
  ERR_clear_error();
  if (X509_check_private_key(out.leaf.get(), out.key.get()) != 1) {
    ERR_clear_error();
    error = "private key does not match the certificate in " + cert_path;
    return false;
  }
  error_path = cert_path;
  CertificateInfo& info = out.info;
  info.cert_path = cert_path;
  info.key_path = key_path;
  info.key_type = key_type_name(out.key.get());
  for (const std::string& raw : certificate_dns_names(out.leaf.get())) {
    CertName name = classify_cert_name(raw);
    if (name.kind == CertName::Kind::Invalid) {
      out.name_warnings.push_back(cert_path + ": ignoring name '" + raw + "': " + name.why);
    } else if (std::find(info.names.begin(), info.names.end(), name.name) == info.names.end()) {
      info.names.push_back(std::move(name.name));
    }
  }
  if (info.names.empty()) {
    error = "certificate has no usable DNS name";
    return false;
  }
  if (!to_unix(X509_get0_notAfter(out.leaf.get()), info.not_after) ||
      !to_unix(X509_get0_notBefore(out.leaf.get()), out.not_before)) {
    ERR_clear_error();
    error = "unreadable validity dates";
    return false;
  }
  return true;
}

}  // namespace

LoadedCertificate LoadedCertificate::share() const {
  LoadedCertificate copy;
  if (leaf && X509_up_ref(leaf.get()) == 1) copy.leaf.reset(leaf.get());
  if (chain) copy.chain.reset(X509_chain_up_ref(chain.get()));
  if (key && EVP_PKEY_up_ref(key.get()) == 1) copy.key.reset(key.get());
  copy.info = info;
  copy.not_before = not_before;
  copy.files_digest = files_digest;
  copy.name_warnings = name_warnings;
  return copy;
}

std::string format_utc(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::optional<LoadedCertificate> load_certificate(const CertSettings& settings, int64_t now,
                                                  std::vector<std::string>& errors,
                                                  std::vector<std::string>& warnings,
                                                  const LoadedCertificate* before) {
  const std::string& cert_path = settings.cert;
  const std::string& key_path = settings.key;
  auto fail = [&](const std::string& path, const std::string& message) {
    errors.push_back(path + ": " + message);
    return std::nullopt;
  };

  std::string chain_pem, key_pem, error;
  if (!read_file(cert_path, chain_pem, error)) return fail(cert_path, error);
  if (!read_file(key_path, key_pem, error)) {
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    return fail(key_path, error);
  }
  std::string digest;
  if (!append_sha256(chain_pem, digest) || !append_sha256(key_pem, digest)) digest.clear();

  LoadedCertificate out;
  std::string error_path;
  bool ok = true;
  if (before != nullptr && !digest.empty() && before->files_digest == digest &&
      before->info.cert_path == cert_path && before->info.key_path == key_path) {
    out = before->share();  // the same bytes: the same certificate, chain and key
    ok = out.leaf && out.key && (out.chain || !before->chain);
    if (!ok) {
      error_path = cert_path;
      error = take_openssl_error("out of memory");
    }
  } else {
    ok = parse(settings, chain_pem, key_pem, out, error_path, error);
  }
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  if (!ok) return fail(error_path, error);
  out.files_digest = std::move(digest);

  warnings.insert(warnings.end(), out.name_warnings.begin(), out.name_warnings.end());
  CertificateInfo& info = out.info;
  info.expired = info.not_after < now;
  if (info.expired) {
    warnings.push_back(cert_path + ": certificate expired on " + format_utc(info.not_after));
  } else if (out.not_before > now) {
    warnings.push_back(cert_path + ": certificate is not valid before " +
                       format_utc(out.not_before));
  }
  return out;
}

}  // namespace tls
