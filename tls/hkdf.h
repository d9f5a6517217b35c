#pragma once

// HMAC (RFC 2104) and HKDF (RFC 5869) with SHA-256 and SHA-384, and TLS 1.3's
// HKDF-Expand-Label (RFC 8446 section 7.1), computed with OpenSSL's SHA-2 block functions
// directly. Through EVP, one HMAC of a TLS 1.3 secret costs about 16,000 instructions (digest
// contexts, provider dispatch, parameter parsing) for about 5,000 of hashing; a TLS 1.3 server
// handshake derives about 22 secrets (callgrind, OpenSSL 3.0).

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>

namespace tls::hkdf {

enum class Hash : uint8_t { Sha256, Sha384 };

inline constexpr size_t kMaxHashSize = 48;

size_t hash_size(Hash h);

// OpenSSL's name for the hash ("SHA2-256", "SHA2-384").
const char* hash_name(Hash h);

// The hash of an OpenSSL digest, or of one of OpenSSL's names for it (any case: "SHA256",
// "SHA2-256", "SHA-256"); nothing for any other digest.
std::optional<Hash> hash_of(const EVP_MD* md);
std::optional<Hash> hash_named(std::string_view name);

// The hash of no input (hash_size(h) bytes).
const uint8_t* empty_hash(Hash h);

// HMAC(key, data...) into out (hash_size(h) bytes). Keys longer than the block are hashed first.
void hmac(Hash h, std::span<const uint8_t> key,
          std::initializer_list<std::span<const uint8_t>> data, uint8_t* out);

// HKDF-Extract: HMAC(salt, ikm) into out (hash_size(h) bytes).
void extract(Hash h, std::span<const uint8_t> salt, std::span<const uint8_t> ikm, uint8_t* out);

// HKDF-Expand; false when out is longer than 255 hashes.
bool expand(Hash h, std::span<const uint8_t> prk, std::span<const uint8_t> info,
            std::span<uint8_t> out);

// HKDF-Expand-Label(secret, label, context, out.size()) with the label's prefix given ("tls13 "
// in TLS 1.3); false when the label or context is longer than 255 bytes or out than 65,535.
bool expand_label(Hash h, std::span<const uint8_t> secret, std::span<const uint8_t> prefix,
                  std::span<const uint8_t> label, std::span<const uint8_t> context,
                  std::span<uint8_t> out);

}  // namespace tls::hkdf
