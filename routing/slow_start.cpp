#include "routing/slow_start.h"

#include <algorithm>
#include <cmath>

namespace routing {

bool ramping(Clock::time_point up_since, Clock::duration slow_start, Clock::time_point now) {
  return slow_start > Clock::duration::zero() && now - up_since < slow_start;
}

uint32_t slow_start_ramp(Clock::time_point up_since, Clock::duration slow_start,
                         Clock::time_point now) {
  if (!ramping(up_since, slow_start, now)) return Node::kFullRamp;
  if (now <= up_since) return 1;
  // In double: exact for durations up to ~100 days in nanoseconds, and no overflow beyond.
  const double share = double((now - up_since).count()) / double(slow_start.count());
  const auto ramp = static_cast<uint32_t>(std::ceil(share * Node::kFullRamp));
  return std::clamp(ramp, 1u, Node::kFullRamp);
}

uint32_t effective_weight(uint32_t weight, Clock::time_point up_since, Clock::duration slow_start,
                          Clock::time_point now) {
  const uint32_t w = std::clamp(weight, 1u, Node::kMaxWeight);  // as Node stores it
  return w * slow_start_ramp(up_since, slow_start, now);
}

}  // namespace routing
