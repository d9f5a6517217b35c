#include "routing/health_counter.h"

#include <algorithm>

namespace routing {

HealthCounter::HealthCounter(uint32_t rise, uint32_t fall, Health initial)
    : rise_(std::max(rise, 1u)), fall_(std::max(fall, 1u)), up_(initial != Health::Down) {}

HealthCounter::Transition HealthCounter::observe(bool success) {
  if (success) {
    failures_ = 0;
    if (up_) return Transition::None;
    if (++successes_ < rise_) return Transition::None;
    up_ = true;
    successes_ = 0;
    return Transition::WentUp;
  }
  successes_ = 0;
  if (!up_) return Transition::None;
  if (++failures_ < fall_) return Transition::None;
  up_ = false;
  failures_ = 0;
  return Transition::WentDown;
}

void HealthCounter::reset(Health state) {
  up_ = state != Health::Down;
  successes_ = 0;
  failures_ = 0;
}

void HealthCounter::probation() {
  up_ = true;
  successes_ = 0;
  failures_ = fall_ - 1;
  // With fall = 1 there is no run to be in: one failure is enough anyway, and the fast interval
  // does not apply.
}

}  // namespace routing
