#include "tls/records/traffic_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>

#include <cstring>
#include <memory>
#include <vector>

namespace tls {
namespace {

// OpenSSL 3 looks algorithms up by name, under a lock, on every implicit fetch: fetch once.
// OpenSSL's own implementations are preferred over any other a loaded provider offers.
EVP_KDF* fetched_kdf(const char* name) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, name, "?provider=default");
  if (kdf == nullptr) ERR_clear_error();
  return kdf;
}

EVP_KDF* tls1_prf() {
  static EVP_KDF* const kdf = fetched_kdf("TLS1-PRF");
  return kdf;
}

// HKDF-Expand-Label of RFC 8446 section 7.1, as OpenSSL's own TLS 1.3 key schedule derives it.
EVP_KDF* tls13_kdf() {
  static EVP_KDF* const kdf = fetched_kdf("TLS13-KDF");
  return kdf;
}

struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};

bool derive(EVP_KDF* kdf, OSSL_PARAM* params, std::span<uint8_t> out) {
  if (kdf == nullptr) return false;
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf));
  if (!ctx || EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    ERR_clear_error();
    return false;
  }
  return true;
}

char* digest_name(const EVP_MD* md) {
  return const_cast<char*>(EVP_MD_get0_name(md));
}

}  // namespace

const EVP_CIPHER* aead_cipher(AeadKind kind) {
  static const std::array<EVP_CIPHER*, 3> ciphers = [] {
    std::array<EVP_CIPHER*, 3> c{EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr),
                                 EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr),
                                 EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr)};
    ERR_clear_error();
    return c;
  }();
  return ciphers[static_cast<size_t>(kind)];
}

size_t aead_key_length(AeadKind kind) {
  return kind == AeadKind::Aes128Gcm ? 16 : 32;
}

bool aead_from_nid(int nid, AeadKind& kind) {
  switch (nid) {
    case NID_aes_128_gcm:
      kind = AeadKind::Aes128Gcm;
      return true;
    case NID_aes_256_gcm:
      kind = AeadKind::Aes256Gcm;
      return true;
    case NID_chacha20_poly1305:
      kind = AeadKind::Chacha20Poly1305;
      return true;
    default:
      return false;
  }
}

bool hkdf_expand_label(const EVP_MD* md, std::span<const uint8_t> secret, std::string_view label,
                       std::span<uint8_t> out) {
  if (md == nullptr) return false;
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  static constexpr std::string_view kPrefix = "tls13 ";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name(md), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, const_cast<char*>(kPrefix.data()),
                                        kPrefix.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, const_cast<char*>(label.data()),
                                        label.size()),
      OSSL_PARAM_construct_end(),
  };
  return derive(tls13_kdf(), params, out);
}

bool tls13_traffic_key(const EVP_MD* md, AeadKind kind, std::span<const uint8_t> secret,
                       DirectionKey& out) {
  out.iv_length = kNonce;
  return hkdf_expand_label(md, secret, "key", {out.key.data(), aead_key_length(kind)}) &&
         hkdf_expand_label(md, secret, "iv", out.iv);
}

bool tls13_next_secret(const EVP_MD* md, std::span<uint8_t> secret) {
  std::array<uint8_t, kMaxSecret> next{};
  if (secret.size() > next.size() ||
      !hkdf_expand_label(md, secret, "traffic upd", {next.data(), secret.size()})) {
    return false;
  }
  std::memcpy(secret.data(), next.data(), secret.size());
  OPENSSL_cleanse(next.data(), next.size());
  return true;
}

bool tls12_traffic_keys(const EVP_MD* md, AeadKind kind, std::span<const uint8_t> master,
                        std::span<const uint8_t> client_random,
                        std::span<const uint8_t> server_random, DirectionKey& client,
                        DirectionKey& server) {
  if (md == nullptr) return false;
  constexpr std::string_view kLabel = "key expansion";
  std::vector<uint8_t> seed(kLabel.begin(), kLabel.end());
  seed.insert(seed.end(), server_random.begin(), server_random.end());
  seed.insert(seed.end(), client_random.begin(), client_random.end());

  const size_t key_length = aead_key_length(kind);
  const size_t iv_length = kind == AeadKind::Chacha20Poly1305 ? kNonce : 4;  // RFC 7905 / 5288
  std::array<uint8_t, 2 * (kMaxKey + kNonce)> block{};
  const size_t size = 2 * (key_length + iv_length);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name(md), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, const_cast<uint8_t*>(master.data()),
                                        master.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed.data(), seed.size()),
      OSSL_PARAM_construct_end(),
  };
  if (!derive(tls1_prf(), params, {block.data(), size})) return false;
  // client_write_key, server_write_key, client_write_IV, server_write_IV
  const uint8_t* p = block.data();
  std::memcpy(client.key.data(), p, key_length);
  std::memcpy(server.key.data(), p + key_length, key_length);
  std::memcpy(client.iv.data(), p + 2 * key_length, iv_length);
  std::memcpy(server.iv.data(), p + 2 * key_length + iv_length, iv_length);
  client.iv_length = server.iv_length = iv_length;
  OPENSSL_cleanse(block.data(), block.size());
  return true;
}

}  // namespace tls
