// Lines and literals taken from what a mail client sent, with a line length limit.
#include "proxy/mail/line_buffer.h"

#include <cstring>

#include <gtest/gtest.h>

namespace proxy::mail {
namespace {

void put(LineBuffer& b, std::string_view s) {
  std::memcpy(b.prepare(s.size()), s.data(), s.size());
  b.commit(s.size());
}

TEST(LineBuffer, LinesComeOneByOne) {
  LineBuffer b(64);
  put(b, "a1 NOOP\r\na2 CAP");
  EXPECT_EQ(b.next_line(), "a1 NOOP");
  EXPECT_FALSE(b.next_line());
  put(b, "ABILITY\na3");
  EXPECT_EQ(b.next_line(), "a2 CAPABILITY");  // a bare LF ends a line too
  EXPECT_FALSE(b.next_line());
  EXPECT_EQ(b.rest(), "a3");
}

TEST(LineBuffer, LiteralsAreCountedBytes) {
  LineBuffer b(64);
  put(b, "ali\r\nce\r\n");
  EXPECT_FALSE(b.take(10));
  EXPECT_EQ(b.take(7), "ali\r\nce");
  EXPECT_EQ(b.next_line(), "");
  EXPECT_TRUE(b.empty());
}

TEST(LineBuffer, OverflowPastTheLimit) {
  LineBuffer b(8);
  put(b, "12345678\r\n");
  EXPECT_FALSE(b.overflow());
  EXPECT_EQ(b.next_line(), "12345678");
  put(b, "123456789");
  EXPECT_FALSE(b.overflow());  // its CR may still come
  put(b, "0");
  EXPECT_TRUE(b.overflow());
  EXPECT_FALSE(b.next_line());
  LineBuffer c(8);
  put(c, "1234567890\r\nok\r\n");
  EXPECT_TRUE(c.overflow());
  EXPECT_FALSE(c.next_line());
}

TEST(LineBuffer, ReleaseGivesTheMemoryBack) {
  LineBuffer b(8 * 1024);
  b.prepare(4 * 1024);
  put(b, "a1 LOGIN alice secret\r\na2 SELECT");
  ASSERT_EQ(b.next_line(), "a1 LOGIN alice secret");
  EXPECT_GE(b.held(), 4u * 1024);
  b.release();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.rest(), "");
  EXPECT_LT(b.held(), 64u);  // at most the string's own small buffer
  put(b, "a3 NOOP\r\n");     // still usable
  EXPECT_EQ(b.next_line(), "a3 NOOP");
}

}  // namespace
}  // namespace proxy::mail
