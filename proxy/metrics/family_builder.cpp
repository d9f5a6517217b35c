#include "proxy/metrics/family_builder.h"

#include <limits>

namespace proxy::metrics {

FamilyBuilder::FamilyBuilder(std::vector<prometheus::MetricFamily>& out, std::string name,
                             std::string help, prometheus::MetricType type)
    : family_(out.emplace_back()) {
  family_.name = std::move(name);
  family_.help = std::move(help);
  family_.type = type;
}

prometheus::ClientMetric& FamilyBuilder::add(Labels labels) {
  auto& m = family_.metric.emplace_back();
  for (const auto& [name, value] : labels) m.label.push_back({name, std::string(value)});
  return m;
}

void FamilyBuilder::counter(Labels labels, double value) {
  add(labels).counter.value = value;
}

void FamilyBuilder::gauge(Labels labels, double value) {
  add(labels).gauge.value = value;
}

void FamilyBuilder::histogram(Labels labels, const HistogramSum& h,
                              std::span<const uint64_t> bounds_ns) {
  auto& m = add(labels).histogram;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_ns.size(); ++i) {
    cumulative += i < h.buckets.size() ? h.buckets[i] : 0;
    m.bucket.push_back({cumulative, static_cast<double>(bounds_ns[i]) / 1e9});
  }
  if (h.buckets.size() > bounds_ns.size()) cumulative += h.buckets[bounds_ns.size()];
  m.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  m.sample_count = cumulative;
  m.sample_sum = static_cast<double>(h.sum_ns) / 1e9;
}

}  // namespace proxy::metrics
