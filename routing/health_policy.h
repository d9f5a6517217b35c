// How a pool's nodes are checked and judged: rise/fall counts, probe intervals, slow start,
// drain timeout and passive checks. The probes themselves (what is sent, what is expected) are
// described apart; this is the part the pure functions below and node_state.h need.
#pragma once

#include <cstdint>

#include "routing/health_clock.h"
#include "routing/health_counter.h"
#include "routing/random.h"
#include "routing/settings.h"

namespace routing {

struct HealthPolicy {
  uint32_t rise = 2;  // consecutive successes for a down node to go up
  uint32_t fall = 3;  // consecutive failures for an up node to go down
  Millis interval = Millis(2'000);
  Millis fast_interval = Millis(0);  // while changing state (HAProxy's fastinter); 0 = interval
  Millis down_interval = Millis(0);  // while down and not rising (downinter); 0 = interval
  uint32_t jitter_percent = 10;      // each delay is drawn within +/- this share, 50 at most
  Millis slow_start = Millis(0);     // weight ramp after coming back up; 0 = full weight at once
  Millis drain_timeout = Millis(0);  // draining or in maintenance: in-flight work is cut after
                                     // this long; 0 = never cut, let it finish
  // Passive checks on live traffic: this many failures in a row mark the node down at once
  // (active checks bring it back). 0 = off. Failures are connect failures, and 5xx answers
  // when passive_5xx is set.
  uint32_t passive_failures = 0;
  bool passive_5xx = false;
};

// The delay before the next probe of a node, from its counter: fast_interval while it is
// changing state, down_interval while it is down, interval otherwise; then jittered so the
// checks of many nodes do not fall in step.
Clock::duration next_check_delay(const HealthPolicy& policy, const HealthCounter& counter,
                                 Random& random);

// The delay before the first probe of a node: drawn in [0, interval), so a pool's probes are
// spread over one interval from the start.
Clock::duration first_check_delay(const HealthPolicy& policy, Random& random);

}  // namespace routing
