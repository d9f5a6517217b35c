// Time injected into the pure parts (health counting, slow start, node state), so tests and
// benchmarks decide what "now" is. Monotonic: wall-clock jumps never flap a node.
#pragma once

#include <chrono>

namespace routing {

class Clock {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  virtual ~Clock() = default;
  virtual time_point now() const = 0;
};

// The process's monotonic clock.
class SteadyClock final : public Clock {
 public:
  time_point now() const override { return clock::now(); }
};

}  // namespace routing
