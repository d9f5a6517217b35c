#include "routing/local_counters.h"

#include <gtest/gtest.h>

namespace routing {
namespace {

TEST(LocalCounters, HistogramBucketsByUpperBound) {
  LatencyHistogram h;
  h.observe(std::chrono::milliseconds(1));     // on the bound: counts in that bucket
  h.observe(std::chrono::microseconds(1001));  // just above: the next one
  h.observe(std::chrono::nanoseconds(-5));     // clock oddity: counted as zero
  h.observe(std::chrono::hours(1));            // beyond the last bound: +Inf
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.bucket(LatencyHistogram::kBuckets - 1), 1u);
  EXPECT_EQ(h.sum_ns(), 1'000'000u + 1'001'000u + 3'600'000'000'000u);
}

TEST(LocalCounters, StatusClasses) {
  EXPECT_EQ(status_class(101), 0u);
  EXPECT_EQ(status_class(200), 1u);
  EXPECT_EQ(status_class(304), 2u);
  EXPECT_EQ(status_class(499), 3u);
  EXPECT_EQ(status_class(504), 4u);
  EXPECT_EQ(status_class(0), 4u);  // no status: counted with server errors
  EXPECT_EQ(status_class(999), 4u);
}

TEST(LocalCounters, GaugeMovesBothWays) {
  LocalGauge g;
  g.add(3);
  g.add(-5);
  EXPECT_EQ(g.get(), -2);  // one worker's share may go below zero; the sum over workers may not
  LocalCounter c;
  c.add();
  c.add(41);
  EXPECT_EQ(c.get(), 42u);
}

}  // namespace
}  // namespace routing
