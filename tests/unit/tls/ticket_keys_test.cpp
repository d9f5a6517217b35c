#include "tls/ticket_keys.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>

namespace tls {
namespace {

// One ticket's worth of key name, IV and cipher/MAC contexts, as OpenSSL passes them.
struct TicketCall {
  TicketCall() {
    mac_algorithm = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    mac = EVP_MAC_CTX_new(mac_algorithm);
  }
  ~TicketCall() {
    EVP_MAC_CTX_free(mac);
    EVP_MAC_free(mac_algorithm);
    EVP_CIPHER_CTX_free(cipher);
  }
  int run(TicketKeys& keys, int encrypt) {
    EVP_CIPHER_CTX_reset(cipher);
    return keys.handle(name.data(), iv.data(), cipher, mac, encrypt);
  }
  std::array<unsigned char, 16> name{};
  std::array<unsigned char, EVP_MAX_IV_LENGTH> iv{};
  EVP_CIPHER_CTX* cipher = EVP_CIPHER_CTX_new();
  EVP_MAC* mac_algorithm = nullptr;
  EVP_MAC_CTX* mac = nullptr;
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

TEST(TicketKeysTest, UnknownKeyNameIsNotAnError) {
  TicketKeys keys;
  TicketCall call;
  call.name.fill(0xAB);
  EXPECT_EQ(call.run(keys, 0), 0);
}

}  // namespace
}  // namespace tls
