// A clock the test moves by hand.
#pragma once

#include <chrono>

#include "routing/health_clock.h"

namespace routing::testing {

class FakeClock final : public Clock {
 public:
  // Far from the epoch: a zero time stamp means "never" in node state.
  time_point now() const override { return now_; }
  void advance(duration d) { now_ += d; }

 private:
  time_point now_ = time_point(std::chrono::hours(1000));
};

}  // namespace routing::testing
