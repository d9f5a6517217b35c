// SHA256_Init and friends are deprecated in OpenSSL 3.0 in favour of EVP, whose per-call cost
// is what this file avoids; they remain part of its API.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "tls/hkdf.h"

#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <openssl/sha.h>
#include <strings.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace tls::hkdf {
namespace {

constexpr size_t kMaxBlock = 128;

size_t block_size(Hash h) {
  return h == Hash::Sha256 ? 64 : 128;
}

// One running hash; cleansed when it ends, as it holds key material.
class Sha {
 public:
  explicit Sha(Hash h) : h_(h) {
    if (h_ == Hash::Sha256) {
      SHA256_Init(&s256_);
    } else {
      SHA384_Init(&s512_);
    }
  }
  ~Sha() { OPENSSL_cleanse(&s512_, sizeof s512_); }
  Sha(const Sha&) = delete;
  Sha& operator=(const Sha&) = delete;

  void update(std::span<const uint8_t> data) {
    if (data.empty()) return;
    if (h_ == Hash::Sha256) {
      SHA256_Update(&s256_, data.data(), data.size());
    } else {
      SHA384_Update(&s512_, data.data(), data.size());
    }
  }
  void final(uint8_t* out) {
    if (h_ == Hash::Sha256) {
      SHA256_Final(out, &s256_);
    } else {
      SHA384_Final(out, &s512_);
    }
  }

 private:
  Hash h_;
  union {
    SHA256_CTX s256_;
    SHA512_CTX s512_;  // the larger one: cleansing it covers both
  };
};

std::array<uint8_t, kMaxHashSize> hash_of_nothing(Hash h) {
  std::array<uint8_t, kMaxHashSize> out{};
  Sha(h).final(out.data());
  return out;
}

}  // namespace

size_t hash_size(Hash h) {
  return h == Hash::Sha256 ? 32 : 48;
}

const char* hash_name(Hash h) {
  return h == Hash::Sha256 ? "SHA2-256" : "SHA2-384";
}

std::optional<Hash> hash_of(const EVP_MD* md) {
  if (md == nullptr) return std::nullopt;
  switch (EVP_MD_get_type(md)) {
    case NID_sha256:
      return Hash::Sha256;
    case NID_sha384:
      return Hash::Sha384;
    default:
      return std::nullopt;
  }
}

std::optional<Hash> hash_named(std::string_view name) {
  auto is = [&](std::string_view n) {
    return name.size() == n.size() && ::strncasecmp(name.data(), n.data(), n.size()) == 0;
  };
  if (is("SHA2-256") || is("SHA256") || is("SHA-256")) return Hash::Sha256;
  if (is("SHA2-384") || is("SHA384") || is("SHA-384")) return Hash::Sha384;
  return std::nullopt;
}

const uint8_t* empty_hash(Hash h) {
  static const std::array<uint8_t, kMaxHashSize> sha256 = hash_of_nothing(Hash::Sha256);
  static const std::array<uint8_t, kMaxHashSize> sha384 = hash_of_nothing(Hash::Sha384);
  return h == Hash::Sha256 ? sha256.data() : sha384.data();
}

void hmac(Hash h, std::span<const uint8_t> key,
          std::initializer_list<std::span<const uint8_t>> data, uint8_t* out) {
  const size_t block = block_size(h);
  std::array<uint8_t, kMaxBlock> k{};
  if (key.size() > block) {
    Sha long_key(h);
    long_key.update(key);
    long_key.final(k.data());
  } else if (!key.empty()) {
    std::memcpy(k.data(), key.data(), key.size());
  }
  std::array<uint8_t, kMaxBlock> pad{};
  std::array<uint8_t, kMaxHashSize> inner{};
  for (size_t i = 0; i < block; ++i) pad[i] = k[i] ^ 0x36;
  {
    Sha sha(h);
    sha.update({pad.data(), block});
    for (const auto& d : data) sha.update(d);
    sha.final(inner.data());
  }
  for (size_t i = 0; i < block; ++i) pad[i] = k[i] ^ 0x5c;
  {
    Sha sha(h);
    sha.update({pad.data(), block});
    sha.update({inner.data(), hash_size(h)});
    sha.final(out);
  }
  OPENSSL_cleanse(k.data(), k.size());
  OPENSSL_cleanse(pad.data(), pad.size());
  OPENSSL_cleanse(inner.data(), inner.size());
}

void extract(Hash h, std::span<const uint8_t> salt, std::span<const uint8_t> ikm, uint8_t* out) {
  hmac(h, salt, {ikm}, out);
}

bool expand(Hash h, std::span<const uint8_t> prk, std::span<const uint8_t> info,
            std::span<uint8_t> out) {
  const size_t size = hash_size(h);
  if (out.size() > 255 * size) return false;
  std::array<uint8_t, kMaxHashSize> t{};
  size_t t_size = 0;
  for (size_t done = 0, i = 1; done < out.size(); ++i) {
    const uint8_t counter = static_cast<uint8_t>(i);
    hmac(h, prk, {{t.data(), t_size}, info, {&counter, 1}}, t.data());
    t_size = size;
    const size_t n = std::min(size, out.size() - done);
    std::memcpy(out.data() + done, t.data(), n);
    done += n;
  }
  OPENSSL_cleanse(t.data(), t.size());
  return true;
}

bool expand_label(Hash h, std::span<const uint8_t> secret, std::span<const uint8_t> prefix,
                  std::span<const uint8_t> label, std::span<const uint8_t> context,
                  std::span<uint8_t> out) {
  // struct { uint16 length; opaque label<7..255> = prefix + label; opaque context<0..255>; }
  if (prefix.size() + label.size() > 255 || context.size() > 255 || out.size() > 0xffff) {
    return false;
  }
  std::array<uint8_t, 2 + 1 + 255 + 1 + 255> info{};
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out.size() >> 8);
  info[n++] = static_cast<uint8_t>(out.size());
  info[n++] = static_cast<uint8_t>(prefix.size() + label.size());
  for (auto part : {prefix, label}) {
    if (part.empty()) continue;
    std::memcpy(&info[n], part.data(), part.size());
    n += part.size();
  }
  info[n++] = static_cast<uint8_t>(context.size());
  if (!context.empty()) std::memcpy(&info[n], context.data(), context.size());
  n += context.size();
  return expand(h, secret, {info.data(), n}, out);
}

}  // namespace tls::hkdf
