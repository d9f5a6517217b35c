#include "proxy/admin/traffic_history.h"

#include <span>

#include "proxy/admin/bucket_quantile.h"

namespace proxy::admin {
namespace {

// `later` - `earlier`, or nullopt when a counter went down.
std::optional<TrafficCounts> difference(const TrafficCounts& later, const TrafficCounts& earlier) {
  if (later.requests < earlier.requests) return std::nullopt;
  TrafficCounts d;
  d.requests = later.requests - earlier.requests;
  for (size_t i = 0; i < TrafficCounts::kBuckets; ++i) {
    if (later.latency[i] < earlier.latency[i]) return std::nullopt;
    d.latency[i] = later.latency[i] - earlier.latency[i];
  }
  return d;
}

double seconds_between(routing::Clock::time_point a, routing::Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::optional<double> quantile(double q, const TrafficCounts& d) {
  return bucket_quantile(q, std::span<const uint64_t>(d.latency),
                         routing::LatencyHistogram::bounds_ns());
}

}  // namespace

void TrafficHistory::sample(routing::Clock::time_point now, const TrafficCounts& counts) {
  if (!samples_.empty()) {
    const Sample& prev = samples_.back();
    auto d = difference(counts, prev.counts);
    const double secs = seconds_between(prev.at, now);
    SparkPoint p;
    if (!d) {
      samples_.clear();
    } else if (secs > 0) {
      p.rate = static_cast<float>(static_cast<double>(d->requests) / secs);
      if (auto p99 = quantile(0.99, *d)) p.p99_ms = static_cast<float>(*p99);
    }
    points_.push(p);
  }
  samples_.push(Sample{now, counts});
}

WindowStats TrafficHistory::last_minute(routing::Clock::time_point now,
                                        const TrafficCounts& current) const {
  WindowStats w;
  if (samples_.empty()) return w;
  const Sample* base = &samples_[0];
  for (size_t i = samples_.size(); i-- > 0;) {
    if (now - samples_[i].at >= kWindow) {
      base = &samples_[i];
      break;
    }
  }
  auto d = difference(current, base->counts);
  w.seconds = seconds_between(base->at, now);
  if (!d || w.seconds <= 0) {
    w.seconds = 0;
    return w;
  }
  w.requests = d->requests;
  w.rate = static_cast<double>(d->requests) / w.seconds;
  w.p50_ms = quantile(0.5, *d);
  w.p99_ms = quantile(0.99, *d);
  return w;
}

}  // namespace proxy::admin
