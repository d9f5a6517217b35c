// Passive health checking: failures seen on live traffic, counted per node by every worker at
// once. N failures in a row mark the node down (node_state.h's observe_passive); a success in
// between starts the run again.
#pragma once

#include <atomic>
#include <cstdint>

namespace routing {

class PassiveCounter {
 public:
  // A failure on live traffic. True for exactly one caller: the one whose failure makes the
  // run reach `threshold` (0 = never). Failures beyond it are counted but report nothing more.
  bool failure(uint32_t threshold) {
    const uint32_t run = streak_.fetch_add(1, std::memory_order_relaxed) + 1;
    return threshold != 0 && run == threshold;
  }
  // A success on live traffic: ends the run. Reads only, when there is no run, so the request
  // path does not write to a line every worker shares.
  void success() {
    if (streak_.load(std::memory_order_relaxed) != 0) streak_.store(0, std::memory_order_relaxed);
  }
  void reset() { streak_.store(0, std::memory_order_relaxed); }

  uint32_t streak() const { return streak_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint32_t> streak_{0};
};

}  // namespace routing
