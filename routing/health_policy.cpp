#include "routing/health_policy.h"

#include <algorithm>
#include <cstdint>

namespace routing {
namespace {

constexpr int64_t kMaxMillis = 1ll << 30;  // ~12 days: keeps the draws inside 32 bits

int64_t millis_or(Millis value, Millis fallback) {
  const Millis m = value.count() > 0 ? value : fallback;
  return std::clamp<int64_t>(m.count(), 1, kMaxMillis);
}

}  // namespace

Clock::duration next_check_delay(const HealthPolicy& policy, const HealthCounter& counter,
                                 Random& random) {
  int64_t base = millis_or(policy.interval, Millis(2'000));
  if (counter.changing()) {
    base = millis_or(policy.fast_interval, Millis(base));
  } else if (counter.state() == Health::Down) {
    base = millis_or(policy.down_interval, Millis(base));
  }
  const int64_t span = base * std::min<uint32_t>(policy.jitter_percent, 50) / 100;
  if (span == 0) return Millis(base);
  const auto draw = random.below(static_cast<uint32_t>(2 * span + 1));
  return Millis(base - span + static_cast<int64_t>(draw));
}

Clock::duration first_check_delay(const HealthPolicy& policy, Random& random) {
  const int64_t interval = millis_or(policy.interval, Millis(2'000));
  return Millis(random.below(static_cast<uint32_t>(interval)));
}

}  // namespace routing
