// HMAC_CTX and its functions are deprecated in OpenSSL 3.0 in favour of EVP_MAC, but the
// EVP_MAC ticket callback receives a fresh EVP_MAC_CTX per ticket that can only be keyed by
// digest *name* (an algorithm fetch and an HMAC key setup on every ticket, twice per resumed
// handshake). An HMAC_CTX can be copied from one prepared per key. nginx uses the same
// callback type.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "tls/ticket_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

namespace tls {

struct TicketKeys::Key {
  Key() = default;
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  ~Key() {
    OPENSSL_cleanse(aes.data(), aes.size());
    HMAC_CTX_free(hmac);  // cleanses the keyed digest states
  }

  std::array<unsigned char, 16> name{};
  std::array<unsigned char, 32> aes{};
  HMAC_CTX* hmac = nullptr;  // keyed with the key's HMAC secret; copied into each ticket's
};

TicketKeys::TicketKeys(Clock clock) : clock_(std::move(clock)) {
  cipher_ = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  digest_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::shared_ptr<const Key> first;
  if (cipher_ != nullptr && digest_ != nullptr) first = make_key();
  if (!first) {
    EVP_CIPHER_free(cipher_);
    EVP_MD_free(digest_);
    throw std::runtime_error("cannot create session ticket keys");
  }
  auto set = std::make_shared<KeySet>();
  set->current = std::move(first);
  set->since = now();
  keys_.store(std::move(set));
}

TicketKeys::~TicketKeys() {
  keys_.store(nullptr);
  EVP_CIPHER_free(cipher_);
  EVP_MD_free(digest_);
}

std::shared_ptr<const TicketKeys::Key> TicketKeys::make_key() const {
  auto key = std::make_shared<Key>();
  std::array<unsigned char, 32> secret;
  key->hmac = HMAC_CTX_new();
  bool ok = key->hmac != nullptr && RAND_bytes(key->name.data(), key->name.size()) == 1 &&
            RAND_priv_bytes(key->aes.data(), key->aes.size()) == 1 &&
            RAND_priv_bytes(secret.data(), secret.size()) == 1 &&
            HMAC_Init_ex(key->hmac, secret.data(), secret.size(), digest_, nullptr) == 1;
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!ok) return nullptr;
  return key;
}

int64_t TicketKeys::now() const {
  if (clock_) return clock_();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<const TicketKeys::KeySet> TicketKeys::rotate_locked(
    const std::shared_ptr<const KeySet>& from, int64_t t, bool keep_previous) {
  std::shared_ptr<const Key> fresh = make_key();
  if (!fresh) return from;  // keep serving the current key rather than none
  auto set = std::make_shared<KeySet>();
  set->current = std::move(fresh);
  if (keep_previous) set->previous = from->current;
  set->since = t;
  std::shared_ptr<const KeySet> out = set;
  keys_.store(out, std::memory_order_release);
  rotations_.fetch_add(1, std::memory_order_relaxed);
  return out;
}

std::shared_ptr<const TicketKeys::KeySet> TicketKeys::keys_at(int64_t t) {
  std::shared_ptr<const KeySet> set = keys_.load(std::memory_order_acquire);
  if (t - set->since < kRotationSeconds) return set;
  std::lock_guard lock(rotate_mutex_);
  set = keys_.load(std::memory_order_acquire);  // another thread may have rotated meanwhile
  int64_t age = t - set->since;
  if (age < kRotationSeconds) return set;
  // After two periods or more, the current key would already have been retired as well.
  return rotate_locked(set, t, age < 2 * kRotationSeconds);
}

void TicketKeys::rotate() {
  int64_t t = now();
  std::lock_guard lock(rotate_mutex_);
  rotate_locked(keys_.load(std::memory_order_acquire), t, true);
}

uint64_t TicketKeys::rotations() const {
  return rotations_.load(std::memory_order_relaxed);
}

int TicketKeys::handle(unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                       HMAC_CTX* hmac, int encrypt) {
  std::shared_ptr<const KeySet> set = keys_at(now());
  const Key* key = set->current.get();
  int result = 1;
  if (!encrypt && std::memcmp(key_name, key->name.data(), key->name.size()) != 0) {
    if (!set->previous ||
        std::memcmp(key_name, set->previous->name.data(), set->previous->name.size()) != 0) {
      return 0;
    }
    key = set->previous.get();
    result = 2;
  }
  bool ok;
  if (encrypt) {
    std::memcpy(key_name, key->name.data(), key->name.size());
    ok = RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher_)) == 1 &&
         EVP_EncryptInit_ex(cipher, cipher_, nullptr, key->aes.data(), iv) == 1;
  } else {
    ok = EVP_DecryptInit_ex(cipher, cipher_, nullptr, key->aes.data(), iv) == 1;
  }
  ok = ok && HMAC_CTX_copy(hmac, key->hmac) == 1;
  return ok ? result : -1;
}

}  // namespace tls
