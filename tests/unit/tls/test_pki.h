#pragma once

// Certificates made at test time with the OpenSSL API: a test certificate authority and leaves
// it signed, written to a temporary directory the way certbot writes them (fullchain.pem with
// the leaf first, privkey.pem). One set per test process, removed at exit.

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tls/settings.h"
#include "tls/ssl_handles.h"

namespace tls::testing {

struct LeafSpec {
  std::string cn;           // subject common name; the tests use it to tell leaves apart
  std::string san;          // "DNS:a.example,IP:127.0.0.1"; empty: no subjectAltName
  bool rsa = false;         // RSA-2048, else ECDSA P-256
  long not_before = -3600;  // seconds from now
  long not_after = 90L * 86400;
};

class TestPki {
 public:
  TestPki() {
    char pattern[] = "/tmp/passeur-tls-test-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    ca_key_ = make_key(false);
    ca_ = make_cert("Passeur Test CA", ca_key_.get(), nullptr, nullptr,
                    {{NID_basic_constraints, "critical,CA:TRUE"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"}},
                    -86400, 3650L * 86400);
    ca_path_ = dir_ + "/ca.pem";
    write_pem(ca_path_, [&](BIO* bio) { return PEM_write_bio_X509(bio, ca_.get()); });
  }
  ~TestPki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  // Writes DIR/<label>/fullchain.pem and privkey.pem. With `key_of`, privkey.pem holds that
  // other leaf's key instead of this one's.
  CertSettings leaf(const std::string& label, const LeafSpec& spec, EvpPkeyPtr* key_out = nullptr,
                    EVP_PKEY* key_of = nullptr) {
    EvpPkeyPtr key = make_key(spec.rsa);
    std::vector<std::pair<int, std::string>> extensions = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage,
         spec.rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_authority_key_identifier, "keyid:always"}};
    if (!spec.san.empty()) extensions.emplace_back(NID_subject_alt_name, spec.san);
    X509Ptr cert = make_cert(spec.cn, key.get(), ca_.get(), ca_key_.get(), extensions,
                             spec.not_before, spec.not_after);
    std::filesystem::create_directories(dir_ + "/" + label);
    CertSettings out{.cert = dir_ + "/" + label + "/fullchain.pem",
                     .key = dir_ + "/" + label + "/privkey.pem"};
    write_pem(out.cert, [&](BIO* bio) {
      return PEM_write_bio_X509(bio, cert.get()) && PEM_write_bio_X509(bio, ca_.get());
    });
    EVP_PKEY* written = key_of != nullptr ? key_of : key.get();
    write_pem(out.key, [&](BIO* bio) {
      return PEM_write_bio_PrivateKey(bio, written, nullptr, nullptr, 0, nullptr, nullptr);
    });
    if (key_out != nullptr) *key_out = std::move(key);
    return out;
  }

  std::string write(const std::string& name, const std::string& content) const {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  const std::string& dir() const { return dir_; }
  const std::string& ca_path() const { return ca_path_; }

 private:
  static EvpPkeyPtr make_key(bool rsa) {
    EvpPkeyPtr key(rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
    if (!key) throw std::runtime_error("key generation failed");
    return key;
  }

  static X509Ptr make_cert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                           const std::vector<std::pair<int, std::string>>& extensions,
                           long not_before, long not_after) {
    static long serial = 1;
    X509Ptr cert(X509_new());
    X509_set_version(cert.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* subject = X509_get_subject_name(cert.get());
    if (!cn.empty()) {
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    }
    X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : subject);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
    for (const auto& [nid, value] : extensions) {
      X509_EXTENSION* extension = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str());
      if (extension == nullptr) throw std::runtime_error("bad extension " + value);
      X509_add_ext(cert.get(), extension, -1);
      X509_EXTENSION_free(extension);
    }
    if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
      throw std::runtime_error("signing failed");
    }
    return cert;
  }

  template <typename Write>
  static void write_pem(const std::string& path, Write write) {
    BioPtr bio(BIO_new_file(path.c_str(), "w"));
    if (!bio || !write(bio.get())) throw std::runtime_error("cannot write " + path);
  }

  std::string dir_;
  std::string ca_path_;
  EvpPkeyPtr ca_key_;
  X509Ptr ca_;
};

// The certificates most tests use, made once per process.
struct TestCertificates {
  TestPki pki;
  EvpPkeyPtr other_key;
  CertSettings webmail_rsa =
      pki.leaf("webmail-rsa",
               {.cn = "webmail-rsa", .san = "DNS:webmail.example.coop,IP:127.0.0.1", .rsa = true});
  CertSettings webmail_ec =
      pki.leaf("webmail-ec", {.cn = "webmail-ec", .san = "DNS:webmail.example.coop"});
  CertSettings wildcard = pki.leaf("wildcard", {.cn = "wildcard", .san = "DNS:*.example.coop"});
  CertSettings cloud = pki.leaf(
      "cloud", {.cn = "cloud", .san = "DNS:cloud.example.coop,DNS:DAV.Example.Coop."}, &other_key);
  CertSettings legacy_cn = pki.leaf("legacy", {.cn = "Legacy.Example.Coop"});
  CertSettings expired = pki.leaf("expired", {.cn = "expired",
                                              .san = "DNS:old.example.coop",
                                              .not_before = -30L * 86400,
                                              .not_after = -86400});
  CertSettings ip_only = pki.leaf("ip-only", {.cn = "ip-only", .san = "IP:192.0.2.1"});
  CertSettings mismatched =
      pki.leaf("mismatched", {.cn = "mismatched", .san = "DNS:mismatch.example.coop"}, nullptr,
               other_key.get());
  std::string garbage = pki.write("garbage.pem", "this is not a certificate\n");
};

inline const TestCertificates& test_certificates() {
  static const TestCertificates certificates;
  return certificates;
}

}  // namespace tls::testing
