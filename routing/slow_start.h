// Slow start: a node that comes back up gets its weight back gradually, so a cold backend
// (empty caches, PHP opcache, JIT) is not handed its full share at once.
//
// The ramp is HAProxy's `slowstart`: linear in the time since the node came up, from nearly
// nothing to the full weight, rounded up and never below 1/Node::kFullRamp of the weight, so
// the node always takes some work once the others are loaded. With the least-loaded balancer
// a node at ramp r/256 is picked only when the others carry about 256/r times its load.
//
//   elapsed / slow_start:   0      25%    50%    100% and after
//   ramp (of 256):          1      64     128    256
#pragma once

#include <cstdint>

#include "routing/health_clock.h"
#include "routing/node.h"

namespace routing {

// The share of its weight a node gets, in 1/Node::kFullRamp units (1..kFullRamp). Full when
// slow_start is zero or has elapsed since up_since; 1 while now is before up_since.
uint32_t slow_start_ramp(Clock::time_point up_since, Clock::duration slow_start,
                         Clock::time_point now);

// weight in 1/Node::kFullRamp units, as Node::effective_weight() gives it: weight * ramp.
uint32_t effective_weight(uint32_t weight, Clock::time_point up_since, Clock::duration slow_start,
                          Clock::time_point now);

// Still ramping: slow_start is not zero and has not elapsed since up_since.
bool ramping(Clock::time_point up_since, Clock::duration slow_start, Clock::time_point now);

}  // namespace routing
