// What the status page shows of one node (or listener) over time, from its cumulative counters
// sampled every kInterval by the control thread: the request rate and the p50/p99 of the last
// minute (the counters now minus those of a sample a minute old: a window that costs the
// request path nothing), and a sparkline point per interval (rate and p99) for 15 minutes.
// Pure: the caller passes the time of each sample, so tests drive it with their own clock.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "proxy/admin/ring.h"
#include "routing/health_clock.h"
#include "routing/local_counters.h"

namespace proxy::admin {

// Cumulative counts: requests answered, and their latencies in routing::LatencyHistogram's
// buckets (per bucket, not cumulative).
struct TrafficCounts {
  static constexpr size_t kBuckets = routing::LatencyHistogram::kBuckets;
  uint64_t requests = 0;
  std::array<uint64_t, kBuckets> latency{};
};

struct WindowStats {
  double seconds = 0;  // the window's length: about a minute, less just after the start
  uint64_t requests = 0;
  double rate = 0;  // requests per second
  std::optional<double> p50_ms, p99_ms;
};

// One sparkline point: one interval's rate, and its p99 (negative: no request timed).
struct SparkPoint {
  float rate = 0;
  float p99_ms = -1;
};

class TrafficHistory {
 public:
  static constexpr std::chrono::seconds kInterval{10};
  static constexpr std::chrono::seconds kWindow{60};
  static constexpr size_t kPoints = 90;  // 15 minutes of kInterval

  // A sample of the cumulative counts at `now`. From the second on, each adds a point for the
  // interval since the previous one. Counts lower than the previous sample's (the counters
  // were replaced) start afresh: the point is empty and the window restarts.
  void sample(routing::Clock::time_point now, const TrafficCounts& counts);
  // The window from the newest sample at least kWindow old (else the oldest) to `now`, whose
  // counts are `current`. Empty before the first sample.
  WindowStats last_minute(routing::Clock::time_point now, const TrafficCounts& current) const;
  const Ring<SparkPoint, kPoints>& points() const { return points_; }

 private:
  struct Sample {
    routing::Clock::time_point at{};
    TrafficCounts counts;
  };
  Ring<Sample, 8> samples_;  // 70 s at kInterval: always one a minute old
  Ring<SparkPoint, kPoints> points_;
};

}  // namespace proxy::admin
