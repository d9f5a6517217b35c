// Counters written by one thread and read by any: the building blocks of per-worker statistics.
// Each worker owns its own copy of every counter and is its only writer, so an increment is a
// relaxed load and store (no locked instruction, no cache line shared with another writer); a
// reader (the /metrics scrape) sums the copies of every worker. Envoy and HAProxy keep
// per-thread counters the same way.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>

namespace routing {

class LocalCounter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A gauge that one worker moves up and down (its share of open connections); the sum over
// workers is the value.
class LocalGauge {
 public:
  void add(int64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  int64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Upper bounds of histogram buckets, in nanoseconds (the last bucket, +Inf, is implicit).
inline constexpr std::array<uint64_t, 14> kLatencyBoundsNs = {
    1'000'000,     2'500'000,     5'000'000,      10'000'000,    25'000'000,
    50'000'000,    100'000'000,   250'000'000,    500'000'000,   1'000'000'000,
    2'500'000'000, 5'000'000'000, 10'000'000'000, 30'000'000'000};
inline constexpr std::array<uint64_t, 12> kConnectBoundsNs = {
    500'000,    1'000'000,   2'500'000,   5'000'000,   10'000'000,    25'000'000,
    50'000'000, 100'000'000, 250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000};

// A histogram of durations, one writer. Buckets hold their own counts (not cumulative); the
// reader accumulates them. The sum is kept in nanoseconds.
template <const auto& Bounds>
class LocalHistogram {
 public:
  static constexpr size_t kBuckets = Bounds.size() + 1;
  static constexpr std::span<const uint64_t> bounds_ns() { return Bounds; }

  void observe(std::chrono::nanoseconds d) {
    uint64_t ns = d.count() > 0 ? static_cast<uint64_t>(d.count()) : 0;
    size_t i = 0;
    while (i < Bounds.size() && ns > Bounds[i]) ++i;
    buckets_[i].add();
    sum_ns_.add(ns);
  }
  uint64_t bucket(size_t i) const { return buckets_[i].get(); }
  uint64_t sum_ns() const { return sum_ns_.get(); }

 private:
  std::array<LocalCounter, kBuckets> buckets_;
  LocalCounter sum_ns_;
};

using LatencyHistogram = LocalHistogram<kLatencyBoundsNs>;
using ConnectHistogram = LocalHistogram<kConnectBoundsNs>;

// Status classes 1xx..5xx as indexes 0..4; anything else counts as 5xx.
inline size_t status_class(unsigned status) {
  unsigned c = status / 100;
  return c >= 1 && c <= 5 ? c - 1 : 4;
}

}  // namespace routing
