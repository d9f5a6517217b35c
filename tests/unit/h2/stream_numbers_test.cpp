#include "proxy/h2/stream_numbers.h"

#include <gtest/gtest.h>

namespace proxy::h2 {
namespace {

TEST(H2StreamNumbers, NewStreamsAndTheirTrailersAreFine) {
  StreamNumbers n;
  EXPECT_FALSE(n.never_opened(1));
  EXPECT_FALSE(n.never_opened(1));  // trailers
  EXPECT_FALSE(n.never_opened(7));
  EXPECT_FALSE(n.never_opened(1));  // trailers of an older stream
  EXPECT_FALSE(n.never_opened(7));
}

TEST(H2StreamNumbers, ANumberSkippedIsNeverOpened) {
  StreamNumbers n;
  EXPECT_FALSE(n.never_opened(5));
  EXPECT_TRUE(n.never_opened(3));  // h2spec http2/5.1.1/2
  EXPECT_TRUE(n.never_opened(1));
  EXPECT_FALSE(n.never_opened(9));
  EXPECT_TRUE(n.never_opened(7));
  EXPECT_FALSE(n.never_opened(5));
}

TEST(H2StreamNumbers, EvenAndNonPositiveNumbersAreLeftToNghttp2) {
  StreamNumbers n;
  EXPECT_FALSE(n.never_opened(9));
  EXPECT_FALSE(n.never_opened(2));
  EXPECT_FALSE(n.never_opened(0));
  EXPECT_FALSE(n.never_opened(-3));
}

TEST(H2StreamNumbers, BelowTheOldestKeptNothingIsSure) {
  StreamNumbers n;
  // streams 1, 5, 9, ...: 3, 7, ... are skipped
  const int32_t kept = static_cast<int32_t>(StreamNumbers::kKept);
  for (int32_t i = 0; i < kept + 2; ++i) EXPECT_FALSE(n.never_opened(1 + 4 * i));
  // the oldest kept is 1 + 4 * 2 = 9
  EXPECT_FALSE(n.never_opened(3));
  EXPECT_FALSE(n.never_opened(7));
  EXPECT_FALSE(n.never_opened(9));
  EXPECT_TRUE(n.never_opened(11));
  EXPECT_FALSE(n.never_opened(13));
  EXPECT_TRUE(n.never_opened(1 + 4 * (kept + 1) - 2));
}

}  // namespace
}  // namespace proxy::h2
