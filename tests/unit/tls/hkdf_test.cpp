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
#include "tls/secret_capture.h"

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

// ---- The capturing provider's TLS13-KDF against the default one --------------------------------

struct Derivation {
  std::optional<int> mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  std::string mode_name;  // a mode given as a string instead
  std::string digest = "SHA2-256";
  std::optional<std::vector<uint8_t>> key = std::vector<uint8_t>(32, 0x11);
  std::optional<std::vector<uint8_t>> salt;
  std::string prefix = "tls13 ";
  std::string label = "c ap traffic";
  std::optional<std::vector<uint8_t>> data;
  std::string properties;
  size_t size = 32;
  bool in_two_steps = false;  // set_params, then derive without parameters
  bool duplicated = false;    // derive on a copy of the context
};

struct Outcome {
  bool ok = false;
  std::vector<uint8_t> out;
  bool operator==(const Outcome&) const = default;
};

Outcome derive(const char* query, Derivation d) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS13-KDF", query);
  EXPECT_NE(kdf, nullptr) << query;
  EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  std::vector<OSSL_PARAM> params;
  int mode = d.mode.value_or(0);
  if (d.mode) params.push_back(OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode));
  if (!d.mode_name.empty()) {
    params.push_back(OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, d.mode_name.data(), 0));
  }
  params.push_back(OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, d.digest.data(), 0));
  if (!d.properties.empty()) {
    params.push_back(
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_PROPERTIES, d.properties.data(), 0));
  }
  auto octets = [&](const char* name, std::vector<uint8_t>& v) {
    params.push_back(OSSL_PARAM_construct_octet_string(name, v.data(), v.size()));
  };
  if (d.key) octets(OSSL_KDF_PARAM_KEY, *d.key);
  if (d.salt) octets(OSSL_KDF_PARAM_SALT, *d.salt);
  std::vector<uint8_t> prefix = bytes(d.prefix);
  std::vector<uint8_t> label = bytes(d.label);
  octets(OSSL_KDF_PARAM_PREFIX, prefix);
  octets(OSSL_KDF_PARAM_LABEL, label);
  if (d.data) octets(OSSL_KDF_PARAM_DATA, *d.data);
  params.push_back(OSSL_PARAM_construct_end());

  Outcome o;
  o.out.assign(d.size, 0);
  if (d.in_two_steps || d.duplicated) {
    o.ok = EVP_KDF_CTX_set_params(kctx, params.data()) == 1;
    if (d.duplicated) {
      EVP_KDF_CTX* copy = EVP_KDF_CTX_dup(kctx);
      EVP_KDF_CTX_reset(kctx);  // the copy keeps its own parameters
      EVP_KDF_CTX_free(kctx);
      kctx = copy;
    }
    o.ok = o.ok && EVP_KDF_derive(kctx, o.out.data(), o.out.size(), nullptr) == 1;
  } else {
    o.ok = EVP_KDF_derive(kctx, o.out.data(), o.out.size(), params.data()) == 1;
  }
  ERR_clear_error();
  EVP_KDF_CTX_free(kctx);
  if (!o.ok) o.out.clear();
  return o;
}

class ProviderKdf : public ::testing::TestWithParam<std::pair<const char*, Derivation>> {};

TEST_P(ProviderKdf, DerivesWhatTheDefaultDerives) {
  SSL_CTX_free(tls::new_capturing_server_context());  // loads the provider
  const Derivation d = GetParam().second;
  const Outcome ours = derive("provider=passeur-secrets", d);
  // OpenSSL 3.0's own TLS13-KDF loses its parameters when its context is duplicated (a copy
  // derives nothing): compare a copy of ours with an undivided derivation.
  Derivation undivided = d;
  undivided.duplicated = false;
  const Outcome theirs = derive("provider=default", undivided);
  EXPECT_EQ(ours.ok, theirs.ok);
  EXPECT_EQ(ours.out, theirs.out);
}

Derivation with(auto change) {
  Derivation d;
  change(d);
  return d;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ProviderKdf,
    ::testing::Values(
        std::pair{"ExpandTrafficSecret", Derivation{.data = std::vector<uint8_t>(32, 0x5a)}},
        std::pair{"ExpandKeyWithoutContext", with([](Derivation& d) {
                    d.label = "key";
                    d.size = 16;
                  })},
        std::pair{"ExpandSha384", with([](Derivation& d) {
                    d.digest = "SHA384";
                    d.key = std::vector<uint8_t>(48, 0x22);
                    d.data = std::vector<uint8_t>(48, 0x33);
                    d.size = 48;
                  })},
        std::pair{"ExpandSeveralBlocks", with([](Derivation& d) { d.size = 1000; })},
        std::pair{"ExpandLongKey",
                  with([](Derivation& d) { d.key = std::vector<uint8_t>(300, 7); })},
        std::pair{"ExpandWithoutKey", with([](Derivation& d) { d.key.reset(); })},
        std::pair{"ExtractWithKeyAndSalt", with([](Derivation& d) {
                    d.mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
                    d.salt = std::vector<uint8_t>(32, 0x44);
                    d.key = std::vector<uint8_t>(66, 0x55);  // a P-521 shared secret's size
                    d.label = "derived";
                  })},
        std::pair{"ExtractEarlySecret", with([](Derivation& d) {
                    d.mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
                    d.key.reset();
                    d.label = "derived";
                  })},
        std::pair{"ExtractSha384WithSaltOnly", with([](Derivation& d) {
                    d.mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
                    d.digest = "sha2-384";
                    d.key.reset();
                    d.salt = std::vector<uint8_t>(48, 0x66);
                    d.label = "derived";
                    d.size = 48;
                  })},
        std::pair{"ExtractWrongSize", with([](Derivation& d) {
                    d.mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
                    d.size = 16;
                  })},
        std::pair{"ModeAsString", with([](Derivation& d) {
                    d.mode.reset();
                    d.mode_name = "EXPAND_ONLY";
                  })},
        std::pair{"ExtractAndExpandRefused",
                  with([](Derivation& d) { d.mode = EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND; })},
        std::pair{"NoMode", with([](Derivation& d) { d.mode.reset(); })},
        std::pair{"OtherDigest", with([](Derivation& d) { d.digest = "SHA512"; })},
        std::pair{"UnknownDigest", with([](Derivation& d) { d.digest = "NO-SUCH-HASH"; })},
        std::pair{"Properties", with([](Derivation& d) { d.properties = "provider=default"; })},
        std::pair{"TwoSteps", with([](Derivation& d) { d.in_two_steps = true; })},
        std::pair{"TwoStepsForwarded", with([](Derivation& d) {
                    d.digest = "SHA512";
                    d.in_two_steps = true;
                  })},
        std::pair{"Duplicated", with([](Derivation& d) { d.duplicated = true; })}),
    [](const auto& info) { return std::string(info.param.first); });

}  // namespace
