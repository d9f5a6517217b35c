#include "proxy/http/te_field.h"

#include <gtest/gtest.h>

namespace proxy::http {
namespace {

TEST(TeField, FindsTrailersAmongCodings) {
  EXPECT_TRUE(accepts_trailers("trailers"));
  EXPECT_TRUE(accepts_trailers("TRAILERS"));
  EXPECT_TRUE(accepts_trailers("gzip;q=0.5, trailers"));
  EXPECT_TRUE(accepts_trailers(" deflate ,\ttrailers\t"));
}

TEST(TeField, NoTrailersWithoutTheToken) {
  EXPECT_FALSE(accepts_trailers(""));
  EXPECT_FALSE(accepts_trailers("gzip"));
  EXPECT_FALSE(accepts_trailers("trailersx, xtrailers"));
  EXPECT_FALSE(accepts_trailers("gzip;trailers"));  // a parameter, not a coding
}

}  // namespace
}  // namespace proxy::http
