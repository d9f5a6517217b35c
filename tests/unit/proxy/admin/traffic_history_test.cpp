#include "proxy/admin/traffic_history.h"

#include <gtest/gtest.h>

#include "proxy/admin/bucket_quantile.h"
#include "proxy/admin/ring.h"

namespace proxy::admin {
namespace {

using std::chrono::seconds;
using Time = routing::Clock::time_point;

const Time t0 = Time(std::chrono::hours(100));

// `n` more requests of about `ms` milliseconds (in the bucket of that bound).
void add(TrafficCounts& c, uint64_t n, double ms) {
  c.requests += n;
  const auto bounds = routing::LatencyHistogram::bounds_ns();
  size_t i = 0;
  while (i < bounds.size() && ms * 1e6 > static_cast<double>(bounds[i])) ++i;
  c.latency[i] += n;
}

TEST(Ring, KeepsTheLastValuesOldestFirst) {
  Ring<int, 3> r;
  EXPECT_TRUE(r.empty());
  for (int i = 1; i <= 5; ++i) r.push(i);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], 3);
  EXPECT_EQ(r[2], 5);
  EXPECT_EQ(r.back(), 5);
  r.clear();
  EXPECT_EQ(r.size(), 0u);
}

TEST(BucketQuantile, InterpolatesInsideTheBucket) {
  const uint64_t bounds[] = {10'000'000, 20'000'000};  // 10 ms, 20 ms
  const uint64_t counts[] = {50, 50, 0};
  EXPECT_DOUBLE_EQ(*bucket_quantile(0.5, counts, bounds), 10.0);
  EXPECT_DOUBLE_EQ(*bucket_quantile(0.25, counts, bounds), 5.0);
  EXPECT_DOUBLE_EQ(*bucket_quantile(0.99, counts, bounds), 19.8);
  const uint64_t slow[] = {0, 0, 10};  // all above the last bound
  EXPECT_DOUBLE_EQ(*bucket_quantile(0.5, slow, bounds), 20.0);
  const uint64_t none[] = {0, 0, 0};
  EXPECT_FALSE(bucket_quantile(0.5, none, bounds).has_value());
}

TEST(TrafficHistory, LastMinuteIsTheDifferenceWithASampleAMinuteOld) {
  TrafficHistory h;
  TrafficCounts c;
  EXPECT_EQ(h.last_minute(t0, c).seconds, 0.0);  // no sample yet
  add(c, 1000, 0.5);                             // before the window: not counted
  for (int i = 0; i <= 6; ++i) {
    h.sample(t0 + seconds(10 * i), c);
  }
  // 60 s after the first sample: 600 requests, 590 fast and 10 slow ones (more than 1%)
  add(c, 590, 0.5);
  add(c, 10, 400);
  auto w = h.last_minute(t0 + seconds(70), c);
  EXPECT_DOUBLE_EQ(w.seconds, 60.0);
  EXPECT_EQ(w.requests, 600u);
  EXPECT_DOUBLE_EQ(w.rate, 10.0);
  ASSERT_TRUE(w.p50_ms && w.p99_ms);
  EXPECT_LT(*w.p50_ms, 1.0);    // in the first bucket (up to 1 ms)
  EXPECT_GT(*w.p99_ms, 250.0);  // in the 250-500 ms bucket
  EXPECT_LE(*w.p99_ms, 500.0);
}

TEST(TrafficHistory, WindowIsShorterJustAfterTheStart) {
  TrafficHistory h;
  TrafficCounts c;
  h.sample(t0, c);
  add(c, 50, 3);
  auto w = h.last_minute(t0 + seconds(5), c);
  EXPECT_DOUBLE_EQ(w.seconds, 5.0);
  EXPECT_DOUBLE_EQ(w.rate, 10.0);
  EXPECT_GT(*w.p50_ms, 2.5);
  EXPECT_LE(*w.p50_ms, 5.0);
  // no requests: no quantiles
  TrafficHistory idle;
  idle.sample(t0, TrafficCounts{});
  auto quiet = idle.last_minute(t0 + seconds(30), TrafficCounts{});
  EXPECT_EQ(quiet.requests, 0u);
  EXPECT_FALSE(quiet.p99_ms.has_value());
}

TEST(TrafficHistory, OnePointPerIntervalForFifteenMinutes) {
  TrafficHistory h;
  TrafficCounts c;
  h.sample(t0, c);
  EXPECT_TRUE(h.points().empty());
  for (int i = 1; i <= 100; ++i) {
    add(c, static_cast<uint64_t>(i) * 10, 7);
    h.sample(t0 + seconds(10 * i), c);
  }
  ASSERT_EQ(h.points().size(), TrafficHistory::kPoints);  // 15 minutes kept, no more
  EXPECT_FLOAT_EQ(h.points().back().rate, 100.0f);        // 1000 requests in 10 s
  EXPECT_FLOAT_EQ(h.points()[0].rate, 11.0f);             // the 11th interval
  EXPECT_GT(h.points().back().p99_ms, 5.0f);
  EXPECT_LE(h.points().back().p99_ms, 10.0f);
}

TEST(TrafficHistory, IdleIntervalHasNoP99AndReplacedCountersStartAfresh) {
  TrafficHistory h;
  TrafficCounts c;
  add(c, 100, 1);
  h.sample(t0, c);
  h.sample(t0 + seconds(10), c);
  EXPECT_FLOAT_EQ(h.points().back().rate, 0.0f);
  EXPECT_LT(h.points().back().p99_ms, 0.0f);
  TrafficCounts fresh;  // lower than before: new counters
  h.sample(t0 + seconds(20), fresh);
  EXPECT_EQ(h.points().size(), 2u);
  add(fresh, 20, 1);
  auto w = h.last_minute(t0 + seconds(30), fresh);
  EXPECT_EQ(w.requests, 20u);
  EXPECT_DOUBLE_EQ(w.seconds, 10.0);
}

}  // namespace
}  // namespace proxy::admin
