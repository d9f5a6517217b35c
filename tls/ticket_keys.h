#pragma once

#include <openssl/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

namespace tls {

// Session ticket keys held in memory only: a new key every 12 hours, the previous one still
// accepted for decryption (its tickets are then renewed), older tickets refused. Rotation
// happens lazily when a ticket is issued or presented. Thread-safe; a ticket takes no lock
// (the keys are an immutable snapshot replaced on rotation).
//
// Each key is prepared once: its HMAC-SHA256 context is keyed when the key is made, and every
// ticket gets a copy of it, so that a ticket costs no algorithm lookup and no HMAC key setup.
class TicketKeys {
 public:
  using Clock = std::function<int64_t()>;  // unix seconds
  static constexpr int64_t kRotationSeconds = 12 * 3600;

  // An empty clock reads the system clock. Throws std::runtime_error if no key can be made.
  explicit TicketKeys(Clock clock = {});
  ~TicketKeys();
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  // The contract of SSL_CTX_set_tlsext_ticket_key_cb: when encrypting, fills `key_name` and
  // `iv` and returns 1; when decrypting, returns 1 (current key), 2 (previous key: issue a
  // new ticket), 0 (unknown key: full handshake) or -1 on error. `cipher` is initialised for
  // AES-256-CBC and `hmac` for HMAC-SHA256 with the key's secrets.
  int handle(unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac,
             int encrypt);

  // Starts a new key now (for instance when a key may have leaked); the current one becomes
  // the previous one.
  void rotate();
  // How many times a new key replaced the current one.
  uint64_t rotations() const;

 private:
  struct Key;
  struct KeySet {
    std::shared_ptr<const Key> current;
    std::shared_ptr<const Key> previous;  // null once retired
    int64_t since = 0;                    // when `current` started
  };

  std::shared_ptr<const Key> make_key() const;
  int64_t now() const;
  // The keys to use at time t, rotating first when due.
  std::shared_ptr<const KeySet> keys_at(int64_t t);
  // Under rotate_mutex_: replaces `from` with a new current key.
  std::shared_ptr<const KeySet> rotate_locked(const std::shared_ptr<const KeySet>& from, int64_t t,
                                              bool keep_previous);

  Clock clock_;
  EVP_CIPHER* cipher_ = nullptr;  // fetched once, reused for every ticket
  EVP_MD* digest_ = nullptr;      // likewise, for the HMAC
  std::mutex rotate_mutex_;       // serialises rotations only
  std::atomic<std::shared_ptr<const KeySet>> keys_;
  std::atomic<uint64_t> rotations_{0};
};

}  // namespace tls
