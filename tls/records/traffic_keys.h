#pragma once

// The keys that protect a TLS connection's application records after its handshake, derived as
// RFC 8446 section 7 (TLS 1.3) and RFC 5246 section 6.3 with RFC 5288/7905 (TLS 1.2 AEAD suites)
// describe. Only the AEAD ciphers of the Mozilla intermediate profile are handled: AES-128-GCM,
// AES-256-GCM and ChaCha20-Poly1305.

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace tls {

enum class AeadKind : uint8_t { Aes128Gcm, Aes256Gcm, Chacha20Poly1305 };

// The cipher (fetched once per process) and its key length; nullptr when OpenSSL lacks it.
const EVP_CIPHER* aead_cipher(AeadKind kind);
size_t aead_key_length(AeadKind kind);

// The AEAD of an OpenSSL cipher NID (SSL_CIPHER_get_cipher_nid), false for any other cipher.
bool aead_from_nid(int nid, AeadKind& kind);

inline constexpr size_t kMaxSecret = 48;  // SHA-384
inline constexpr size_t kMaxKey = 32;
inline constexpr size_t kNonce = 12;

// The key and IV of one direction. In TLS 1.2 with AES-GCM only the first 4 bytes of the IV
// are fixed (the rest of each record's nonce is sent in the record).
struct DirectionKey {
  std::array<uint8_t, kMaxKey> key{};
  std::array<uint8_t, kNonce> iv{};
  size_t iv_length = kNonce;
};

// HKDF-Expand-Label(secret, label, "", out.size()) of RFC 8446 section 7.1, with the digest of
// the handshake (SHA-256 or SHA-384), by OpenSSL's own TLS13-KDF. False when OpenSSL fails.
bool hkdf_expand_label(const EVP_MD* md, std::span<const uint8_t> secret, std::string_view label,
                       std::span<uint8_t> out);

// TLS 1.3: the key and IV of a traffic secret ("key" and "iv" labels).
bool tls13_traffic_key(const EVP_MD* md, AeadKind kind, std::span<const uint8_t> secret,
                       DirectionKey& out);

// TLS 1.3: the next traffic secret after a KeyUpdate ("traffic upd" label), in place.
bool tls13_next_secret(const EVP_MD* md, std::span<uint8_t> secret);

// TLS 1.2: client and server write keys and IVs from the master secret's key block
// (PRF(master, "key expansion", server_random + client_random); AEAD suites have no MAC key).
bool tls12_traffic_keys(const EVP_MD* md, AeadKind kind, std::span<const uint8_t> master,
                        std::span<const uint8_t> client_random,
                        std::span<const uint8_t> server_random, DirectionKey& client,
                        DirectionKey& server);

}  // namespace tls
