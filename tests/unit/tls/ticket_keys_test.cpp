// The ticket callback works on an HMAC_CTX (deprecated API, see tls/ticket_keys.cpp).
#define OPENSSL_SUPPRESS_DEPRECATED

#include "tls/ticket_keys.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace tls {
namespace {

// One ticket's worth of key name, IV and cipher/MAC contexts, as OpenSSL passes them.
struct TicketCall {
  ~TicketCall() {
    HMAC_CTX_free(hmac);
    EVP_CIPHER_CTX_free(cipher);
  }
  // A fresh pair of contexts for each call, as OpenSSL makes for each ticket.
  int run(TicketKeys& keys, int encrypt) {
    EVP_CIPHER_CTX_reset(cipher);
    HMAC_CTX_free(hmac);
    hmac = HMAC_CTX_new();
    return keys.handle(name.data(), iv.data(), cipher, hmac, encrypt);
  }
  // The HMAC of `data` with the context the last call prepared.
  std::string tag(const std::string& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (HMAC_Update(hmac, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
        HMAC_Final(hmac, out, &length) != 1) {
      return "";
    }
    return std::string(reinterpret_cast<const char*>(out), length);
  }
  // `data` through the cipher context the last call prepared (encrypted or decrypted).
  std::string transform(const std::string& data) {
    std::string out(data.size() + 32, '\0');
    int n = 0, tail = 0;
    auto* dst = reinterpret_cast<unsigned char*>(out.data());
    if (EVP_CipherUpdate(cipher, dst, &n, reinterpret_cast<const unsigned char*>(data.data()),
                         static_cast<int>(data.size())) != 1 ||
        EVP_CipherFinal_ex(cipher, dst + n, &tail) != 1) {
      return "";
    }
    out.resize(static_cast<size_t>(n + tail));
    return out;
  }
  std::array<unsigned char, 16> name{};
  std::array<unsigned char, EVP_MAX_IV_LENGTH> iv{};
  EVP_CIPHER_CTX* cipher = EVP_CIPHER_CTX_new();
  HMAC_CTX* hmac = nullptr;
};

TEST(TicketKeysTest, CurrentKeyDecryptsItsTickets) {
  int64_t now = 1000;
  TicketKeys keys([&] { return now; });
  TicketCall call;
  ASSERT_EQ(call.run(keys, 1), 1);
  EXPECT_EQ(call.run(keys, 0), 1);
  EXPECT_EQ(keys.rotations(), 0u);
}

TEST(TicketKeysTest, RotatesEveryTwelveHours) {
  int64_t now = 1000;
  TicketKeys keys([&] { return now; });
  TicketCall call;
  ASSERT_EQ(call.run(keys, 1), 1);
  now += TicketKeys::kRotationSeconds - 1;
  EXPECT_EQ(call.run(keys, 0), 1);
  EXPECT_EQ(keys.rotations(), 0u);
  now += 1;
  EXPECT_EQ(call.run(keys, 0), 2) << "previous key: accepted, ticket to be renewed";
  EXPECT_EQ(keys.rotations(), 1u);
  now += TicketKeys::kRotationSeconds;
  EXPECT_EQ(call.run(keys, 0), 0) << "two rotations old: unknown";
  EXPECT_EQ(keys.rotations(), 2u);
}

TEST(TicketKeysTest, NewTicketsUseTheNewKey) {
  int64_t now = 1000;
  TicketKeys keys([&] { return now; });
  TicketCall old_ticket, new_ticket;
  ASSERT_EQ(old_ticket.run(keys, 1), 1);
  now += TicketKeys::kRotationSeconds;
  ASSERT_EQ(new_ticket.run(keys, 1), 1);
  EXPECT_NE(old_ticket.name, new_ticket.name);
  EXPECT_EQ(new_ticket.run(keys, 0), 1);
}

TEST(TicketKeysTest, LongIdleDropsBothKeys) {
  int64_t now = 1000;
  TicketKeys keys([&] { return now; });
  TicketCall call;
  ASSERT_EQ(call.run(keys, 1), 1);
  now += 2 * TicketKeys::kRotationSeconds;
  EXPECT_EQ(call.run(keys, 0), 0);
}

TEST(TicketKeysTest, ManualRotationKeepsThePreviousKey) {
  TicketKeys keys;
  TicketCall call;
  ASSERT_EQ(call.run(keys, 1), 1);
  keys.rotate();
  EXPECT_EQ(call.run(keys, 0), 2);
  keys.rotate();
  EXPECT_EQ(call.run(keys, 0), 0);
}

TEST(TicketKeysTest, DecryptionUndoesEncryptionWithTheSameTag) {
  TicketKeys keys;
  TicketCall call;
  const std::string session = "a serialized session, a little longer than one AES block";
  ASSERT_EQ(call.run(keys, 1), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_get_key_length(call.cipher), 32) << "AES-256";
  std::string sealed = call.transform(session);
  ASSERT_FALSE(sealed.empty());
  EXPECT_NE(sealed, session);
  std::string tag = call.tag(sealed);
  EXPECT_EQ(tag.size(), 32u) << "HMAC-SHA256";

  ASSERT_EQ(call.run(keys, 0), 1);
  EXPECT_EQ(call.tag(sealed), tag) << "every ticket starts from the same keyed HMAC";
  EXPECT_EQ(call.transform(sealed), session);

  keys.rotate();
  TicketCall fresh;
  ASSERT_EQ(fresh.run(keys, 1), 1);
  EXPECT_NE(fresh.tag(sealed), tag) << "a new key has a new HMAC secret";
  ASSERT_EQ(call.run(keys, 0), 2) << "the previous key still opens its tickets";
  EXPECT_EQ(call.tag(sealed), tag);
  EXPECT_EQ(call.transform(sealed), session);
}

TEST(TicketKeysTest, TicketsAndRotationsFromManyThreads) {
  TicketKeys keys;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      TicketCall call;
      const std::string data = "ticket";
      for (int n = 0; n < 2000 && !stop; ++n) {
        if (call.run(keys, 1) != 1) ++failures;
        std::string tag = call.tag(data);
        // Decrypting right after: the key is current or, after a rotation in between, previous;
        // after two rotations it may be gone (0). Whenever accepted, the tag must match.
        int r = call.run(keys, 0);
        if (r < 0 || (r > 0 && call.tag(data) != tag)) ++failures;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    keys.rotate();
    std::this_thread::yield();
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(keys.rotations(), 50u);
}

TEST(TicketKeysTest, UnknownKeyNameIsNotAnError) {
  TicketKeys keys;
  TicketCall call;
  call.name.fill(0xAB);
  EXPECT_EQ(call.run(keys, 0), 0);
}

}  // namespace
}  // namespace tls
