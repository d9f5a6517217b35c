// When a pool's nodes are probed: the delays drawn from its HealthPolicy (routing/settings.h)
// and a node's rise/fall counter.
#pragma once

#include <cstdint>

#include "routing/health_clock.h"
#include "routing/health_counter.h"
#include "routing/random.h"
#include "routing/settings.h"

namespace routing {

// struct HealthPolicy is in routing/settings.h: pool settings carry it.

// The delay before the next probe of a node, from its counter: fast_interval while it is
// changing state, down_interval while it is down, interval otherwise; then jittered so the
// checks of many nodes do not fall in step.
Clock::duration next_check_delay(const HealthPolicy& policy, const HealthCounter& counter,
                                 Random& random);

// The delay before the first probe of a node: drawn in [0, interval), so a pool's probes are
// spread over one interval from the start.
Clock::duration first_check_delay(const HealthPolicy& policy, Random& random);

}  // namespace routing
