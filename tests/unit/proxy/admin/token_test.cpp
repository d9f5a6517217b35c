#include "proxy/admin/token.h"

#include <gtest/gtest.h>

namespace proxy::admin {
namespace {

TEST(Token, EqualOnlyWhenIdentical) {
  EXPECT_TRUE(token_equal("0123456789abcdef", "0123456789abcdef"));
  EXPECT_FALSE(token_equal("0123456789abcdeF", "0123456789abcdef"));
  EXPECT_FALSE(token_equal("0123456789abcde", "0123456789abcdef"));
  EXPECT_FALSE(token_equal("0123456789abcdef0", "0123456789abcdef"));
  EXPECT_FALSE(token_equal("", "0123456789abcdef"));
  EXPECT_FALSE(token_equal("", ""));  // no expected token: nothing matches it
}

TEST(Token, BearerScheme) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc "), "abc");
  EXPECT_EQ(bearer_token("BEARER abc"), "abc");
  EXPECT_EQ(bearer_token("Bearerabc"), "");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token(""), "");
}

}  // namespace
}  // namespace proxy::admin
