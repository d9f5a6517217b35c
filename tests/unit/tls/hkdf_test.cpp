#include "tls/hkdf.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/unit/tls/hex.h"

namespace {

using tls::hkdf::Hash;
using tls::testing::unhex;

std::vector<uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

// RFC 4231 test case 6: a key longer than the block is hashed first.
TEST(Hkdf, HmacOfRfc4231) {
  const std::vector<uint8_t> key(131, 0xaa);
  const auto data = bytes("Test Using Larger Than Block-Size Key - Hash Key First");
  std::vector<uint8_t> out(48);
  tls::hkdf::hmac(Hash::Sha256, key, {data}, out.data());
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 32),
            unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
  tls::hkdf::hmac(Hash::Sha384, key, {data}, out.data());
  EXPECT_EQ(out, unhex("4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab40"
                       "30fe8296248df163f44952"));
  // The data may come in pieces.
  tls::hkdf::hmac(Hash::Sha384, key, {{data.data(), 10}, {}, {data.data() + 10, data.size() - 10}},
                  out.data());
  EXPECT_EQ(out, unhex("4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab40"
                       "30fe8296248df163f44952"));
}

// RFC 5869 test case 1: extract, then an expand longer than one hash.
TEST(Hkdf, ExtractAndExpandOfRfc5869) {
  const std::vector<uint8_t> ikm(22, 0x0b);
  const auto salt = unhex("000102030405060708090a0b0c");
  const auto info = unhex("f0f1f2f3f4f5f6f7f8f9");
  std::vector<uint8_t> prk(32);
  tls::hkdf::extract(Hash::Sha256, salt, ikm, prk.data());
  EXPECT_EQ(prk, unhex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"));
  std::vector<uint8_t> okm(42);
  ASSERT_TRUE(tls::hkdf::expand(Hash::Sha256, prk, info, okm));
  EXPECT_EQ(okm, unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf3400720"
                       "8d5b887185865"));
  std::vector<uint8_t> too_long(255 * 32 + 1);
  EXPECT_FALSE(tls::hkdf::expand(Hash::Sha256, prk, info, too_long));
}

TEST(Hkdf, HashNames) {
  EXPECT_EQ(tls::hkdf::hash_named("SHA2-256"), Hash::Sha256);
  EXPECT_EQ(tls::hkdf::hash_named("sha256"), Hash::Sha256);
  EXPECT_EQ(tls::hkdf::hash_named("SHA-384"), Hash::Sha384);
  EXPECT_EQ(tls::hkdf::hash_named("SHA512"), std::nullopt);
  EXPECT_EQ(tls::hkdf::hash_named("SHA2-2566"), std::nullopt);
  EXPECT_EQ(tls::hkdf::hash_of(EVP_sha384()), Hash::Sha384);
  EXPECT_EQ(tls::hkdf::hash_of(EVP_sha512()), std::nullopt);
}

}  // namespace
