#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

namespace tls {
namespace {

bool set_mac_key(EVP_MAC_CTX* mac, unsigned char* key, size_t length) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, length),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

}  // namespace

TicketKeys::TicketKeys(Clock clock) : clock_(std::move(clock)) {
  cipher_ = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  if (cipher_ == nullptr || !make_key(current_)) {
    EVP_CIPHER_free(cipher_);
    throw std::runtime_error("cannot create session ticket keys");
  }
  current_since_ = now();
}

TicketKeys::~TicketKeys() {
  OPENSSL_cleanse(&current_, sizeof current_);
  OPENSSL_cleanse(&previous_, sizeof previous_);
  EVP_CIPHER_free(cipher_);
}

bool TicketKeys::make_key(Key& key) {
  return RAND_bytes(key.name.data(), key.name.size()) == 1 &&
         RAND_priv_bytes(key.aes.data(), key.aes.size()) == 1 &&
         RAND_priv_bytes(key.hmac.data(), key.hmac.size()) == 1;
}

int64_t TicketKeys::now() const {
  if (clock_) return clock_();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void TicketKeys::rotate_locked(int64_t now, bool keep_previous) {
  Key fresh;
  if (!make_key(fresh)) return;  // keep serving the current key rather than none
  previous_ = current_;
  has_previous_ = keep_previous;
  current_ = fresh;
  OPENSSL_cleanse(&fresh, sizeof fresh);
  current_since_ = now;
  ++rotations_;
}

void TicketKeys::rotate_if_due_locked(int64_t now) {
  int64_t age = now - current_since_;
  if (age < kRotationSeconds) return;
  // After two periods or more, the current key would already have been retired as well.
  rotate_locked(now, age < 2 * kRotationSeconds);
}

void TicketKeys::rotate() {
  int64_t t = now();
  std::lock_guard lock(mutex_);
  rotate_locked(t, true);
}

uint64_t TicketKeys::rotations() const {
  std::lock_guard lock(mutex_);
  return rotations_;
}

int TicketKeys::handle(unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                       EVP_MAC_CTX* mac, int encrypt) {
  Key key;
  int result = 1;
  {
    int64_t t = now();
    std::lock_guard lock(mutex_);
    rotate_if_due_locked(t);
    if (encrypt) {
      key = current_;
    } else if (std::memcmp(key_name, current_.name.data(), current_.name.size()) == 0) {
      key = current_;
    } else if (has_previous_ &&
               std::memcmp(key_name, previous_.name.data(), previous_.name.size()) == 0) {
      key = previous_;
      result = 2;
    } else {
      return 0;
    }
  }
  bool ok;
  if (encrypt) {
    std::memcpy(key_name, key.name.data(), key.name.size());
    int iv_length = EVP_CIPHER_get_iv_length(cipher_);
    ok = RAND_bytes(iv, iv_length) == 1 &&
         EVP_EncryptInit_ex(cipher, cipher_, nullptr, key.aes.data(), iv) == 1;
  } else {
    ok = EVP_DecryptInit_ex(cipher, cipher_, nullptr, key.aes.data(), iv) == 1;
  }
  ok = ok && set_mac_key(mac, key.hmac.data(), key.hmac.size());
  OPENSSL_cleanse(&key, sizeof key);
  return ok ? result : -1;
}

}  // namespace tls
