// SASL PLAIN messages and base64, as mail clients send them.
#include "proxy/mail/sasl.h"

#include <gtest/gtest.h>

namespace proxy::mail {
namespace {

TEST(Sasl, Base64BothWays) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("="), "");
}

TEST(Sasl, Base64RefusesWhatIsNotStrict) {
  EXPECT_FALSE(base64_decode(""));
  EXPECT_FALSE(base64_decode("Zm9"));       // not a multiple of 4
  EXPECT_FALSE(base64_decode("Zm9v!A=="));  // outside the alphabet
  EXPECT_FALSE(base64_decode("Z=9v"));      // padding inside
  EXPECT_FALSE(base64_decode("Zm9v Zm9v"));
}

TEST(Sasl, PlainMessage) {
  // "\0alice\0alicepw"
  auto c = decode_plain("AGFsaWNlAGFsaWNlcHc=");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authzid, "");
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "alicepw");
  EXPECT_EQ(encode_plain(*c), "AGFsaWNlAGFsaWNlcHc=");
  Credentials z{.authzid = "admin", .user = "bob", .password = "p w"};
  auto back = decode_plain(encode_plain(z));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->authzid, "admin");
  EXPECT_EQ(back->user, "bob");
  EXPECT_EQ(back->password, "p w");
}

TEST(Sasl, PlainRefusesMalformed) {
  EXPECT_FALSE(decode_plain(base64_encode("alice")));                      // no NUL
  EXPECT_FALSE(decode_plain(base64_encode(std::string("\0alice", 6))));    // two fields
  EXPECT_FALSE(decode_plain(base64_encode(std::string("\0\0pw", 4))));     // empty user
  EXPECT_FALSE(decode_plain(base64_encode(std::string("\0a\0b\0c", 7))));  // four fields
  EXPECT_FALSE(decode_plain("not base64"));
}

}  // namespace
}  // namespace proxy::mail
