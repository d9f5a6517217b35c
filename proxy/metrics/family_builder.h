// Builds prometheus-cpp MetricFamily values from our own counters at scrape time (the counters
// are not prometheus-cpp objects: they are per-worker and summed here, see
// routing/local_counters.h).
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

namespace proxy::metrics {

// The `code` label: status classes, indexed as routing::status_class() counts them.
inline constexpr const char* kStatusClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

using Labels = std::initializer_list<std::pair<const char*, std::string_view>>;

// Per-worker histogram buckets summed: counts per bucket (not cumulative) and the sum.
struct HistogramSum {
  std::vector<uint64_t> buckets;  // bounds.size() + 1 (the last is +Inf)
  uint64_t sum_ns = 0;
  template <class H>
  void add(const H& h) {
    if (buckets.empty()) buckets.resize(H::kBuckets);
    for (size_t i = 0; i < H::kBuckets; ++i) buckets[i] += h.bucket(i);
    sum_ns += h.sum_ns();
  }
};

class FamilyBuilder {
 public:
  FamilyBuilder(std::vector<prometheus::MetricFamily>& out, std::string name, std::string help,
                prometheus::MetricType type);
  void counter(Labels labels, double value);
  void gauge(Labels labels, double value);
  // A histogram of seconds from bounds in nanoseconds.
  void histogram(Labels labels, const HistogramSum& h, std::span<const uint64_t> bounds_ns);

 private:
  prometheus::ClientMetric& add(Labels labels);
  prometheus::MetricFamily& family_;
};

}  // namespace proxy::metrics
