// How many requests an affinity cookie sent to a node lately (see routing/affinity.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "routing/health_clock.h"

namespace routing {

// Requests sent to a node because their affinity cookie named it, over the last minute, and
// when the last one came: how many browsers a draining node still serves. Lock-free, written
// by every worker: one slot per second of the last minute.
class AffinityCount {
 public:
  static constexpr int64_t kSeconds = 60;

  void record(Clock::time_point now) {
    const int64_t ns = stamp(now);
    last_.store(ns, std::memory_order_relaxed);
    const uint64_t sec = static_cast<uint64_t>(ns / 1'000'000'000);
    std::atomic<uint64_t>& slot = slots_[sec % kSeconds];
    uint64_t cur = slot.load(std::memory_order_relaxed);
    for (;;) {
      uint64_t next;
      if ((cur >> kCountBits) == (sec & kSecondMask)) {
        if ((cur & kCountMask) == kCountMask) return;  // saturated
        next = cur + 1;
      } else {
        next = ((sec & kSecondMask) << kCountBits) | 1;
      }
      if (slot.compare_exchange_weak(cur, next, std::memory_order_relaxed)) return;
    }
  }

  // Requests in the 60 seconds up to `now` (whole seconds).
  uint64_t last_minute(Clock::time_point now) const {
    const uint64_t sec = static_cast<uint64_t>(stamp(now) / 1'000'000'000);
    uint64_t total = 0;
    for (const auto& slot : slots_) {
      const uint64_t v = slot.load(std::memory_order_relaxed);
      const uint64_t at = v >> kCountBits;
      const uint64_t age = ((sec & kSecondMask) - at) & kSecondMask;
      if (v != 0 && age < static_cast<uint64_t>(kSeconds)) total += v & kCountMask;
    }
    return total;
  }

  // The last request's time; nullopt when none came since the start.
  std::optional<Clock::time_point> last() const {
    const int64_t ns = last_.load(std::memory_order_relaxed);
    if (ns == 0) return std::nullopt;
    return Clock::time_point(
        std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
  }

 private:
  static constexpr int kCountBits = 24;
  static constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
  static constexpr uint64_t kSecondMask = (uint64_t{1} << (64 - kCountBits)) - 1;
  static int64_t stamp(Clock::time_point t) {
    const int64_t ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    return ns > 0 ? ns : 1;
  }
  std::atomic<uint64_t> slots_[kSeconds] = {};
  std::atomic<int64_t> last_{0};
};

}  // namespace routing
