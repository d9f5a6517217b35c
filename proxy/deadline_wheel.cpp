#include "proxy/deadline_wheel.h"

namespace proxy {

void TrackedConnection::track_in(DeadlineWheel& wheel) {
  wheel_ = &wheel;
  wheel.file(*this);
}

void TrackedConnection::refile() {
  wheel_->file(*this);
}

void DeadlineWheel::file(TrackedConnection& c) {
  const Clock::time_point d = c.deadline();
  if (d == Clock::time_point::max()) {
    if (c.wheel_hook_.is_linked()) c.wheel_hook_.unlink();
    c.filed_at_ = Clock::time_point::max();
    return;
  }
  const auto ahead = d <= base_ ? 0 : static_cast<size_t>((d - base_) / kSlot);
  place(c, ahead < kSlots ? ahead : kSlots - 1);
}

void DeadlineWheel::place(TrackedConnection& c, size_t ahead) {
  if (c.wheel_hook_.is_linked()) c.wheel_hook_.unlink();
  c.filed_at_ = base_ + ahead * kSlot;
  slots_[(cursor_ + ahead) % kSlots].push_back(c);
}

size_t DeadlineWheel::filed() const {
  size_t n = due_.size();
  for (const Slot& s : slots_) n += s.size();
  return n;
}

}  // namespace proxy
