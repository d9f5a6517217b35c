#include "proxy/h2/websocket_key.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>

namespace proxy::h2 {
namespace {

TEST(H2WebSocketKey, AcceptOfTheRfcExample) {
  // RFC 6455 1.3
  EXPECT_EQ(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(H2WebSocketKey, KeysAreSixteenRandomBytes) {
  const std::string a = new_websocket_key();
  const std::string b = new_websocket_key();
  ASSERT_EQ(a.size(), 24u);
  EXPECT_NE(a, b);
  unsigned char raw[24];
  // 16 bytes encode to 24 characters, the last two padding.
  EXPECT_EQ(EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(a.data()), 24), 18);
  EXPECT_EQ(a.substr(22), "==");
}

}  // namespace
}  // namespace proxy::h2
