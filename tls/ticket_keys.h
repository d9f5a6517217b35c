#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>

namespace tls {

// Session ticket keys held in memory only: a new key every 12 hours, the previous one still
// accepted for decryption (its tickets are then renewed), older tickets refused. Rotation
// happens lazily when a ticket is issued or presented. Thread-safe.
class TicketKeys {
 public:
  using Clock = std::function<int64_t()>;  // unix seconds
  static constexpr int64_t kRotationSeconds = 12 * 3600;

  // An empty clock reads the system clock. Throws std::runtime_error if no key can be made.
  explicit TicketKeys(Clock clock = {});
  ~TicketKeys();
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  // The contract of SSL_CTX_set_tlsext_ticket_key_evp_cb: when encrypting, fills `key_name` and
  // `iv` and returns 1; when decrypting, returns 1 (current key), 2 (previous key: issue a
  // new ticket), 0 (unknown key: full handshake) or -1 on error.
  int handle(unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
             int encrypt);

  // Starts a new key now (for instance when a key may have leaked); the current one becomes
  // the previous one.
  void rotate();
  // How many times a new key replaced the current one.
  uint64_t rotations() const;

 private:
  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> aes;
    std::array<unsigned char, 32> hmac;
  };
  static bool make_key(Key& key);
  int64_t now() const;
  void rotate_if_due_locked(int64_t now);
  void rotate_locked(int64_t now, bool keep_previous);

  Clock clock_;
  EVP_CIPHER* cipher_ = nullptr;  // fetched once, reused for every ticket
  mutable std::mutex mutex_;
  Key current_{};
  Key previous_{};
  bool has_previous_ = false;
  int64_t current_since_ = 0;
  uint64_t rotations_ = 0;
};

}  // namespace tls
