// The deadlines of a worker's connections, filed in a timing wheel so that the worker's tick
// looks only at the connections whose deadline may have come, not at every open one: 10,000
// idle sessions cost a walk over all of them ten times a second otherwise.
//
// A connection moves its deadline forward on every read and write (a plain store, see
// connection_registry.h). The wheel files it under the slot of the deadline it had when it was
// filed and does not follow each move: when that slot comes due, a connection whose deadline has
// moved on is filed again under its new one, so a connection that makes progress costs no
// refiling. A deadline moved earlier than its slot is filed again at once. Deadlines past the
// wheel's horizon wait in its last slot.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>

#include <boost/intrusive/list.hpp>

#include "proxy/connection_registry.h"

namespace proxy {

class DeadlineWheel {
 public:
  static constexpr size_t kSlots = 1024;
  static constexpr Clock::duration kSlot = std::chrono::milliseconds(100);

  explicit DeadlineWheel(Clock::time_point now) : base_(now) {}
  DeadlineWheel(const DeadlineWheel&) = delete;
  DeadlineWheel& operator=(const DeadlineWheel&) = delete;

  // Files `c` under its deadline (a connection without one is not filed). The connection then
  // files itself again when its deadline moves earlier than its slot.
  void file(TrackedConnection& c);

  // Every connection whose deadline is at or before `now` gets expire(c)'s call; the others of
  // the slots that came due are filed again. An expired connection is filed under the next
  // slot first, so that it is expired again at the next advance while its deadline stays
  // passed (as a sweep over every connection did), and so that `expire` may destroy it: its
  // hook leaves the wheel with it. `expire` may also file or destroy other connections.
  template <class Expire>
  void advance(Clock::time_point now, Expire&& expire) {
    while (base_ + kSlot <= now) {
      due_.splice(due_.end(), slots_[cursor_]);
      cursor_ = (cursor_ + 1) % kSlots;
      base_ += kSlot;
    }
    // The current slot's connections may be due too (deadlines within this slot's time).
    due_.splice(due_.end(), slots_[cursor_]);
    while (!due_.empty()) {
      TrackedConnection& c = due_.front();
      due_.pop_front();
      if (c.deadline() <= now) {
        place(c, 1);
        expire(c);
      } else {
        file(c);
      }
    }
  }

  // How many connections are filed (for tests).
  size_t filed() const;

 private:
  using Slot = boost::intrusive::list<
      TrackedConnection,
      boost::intrusive::member_hook<TrackedConnection, TrackedConnection::WheelHook,
                                    &TrackedConnection::wheel_hook_>,
      boost::intrusive::constant_time_size<false>>;

  // Files `c` `ahead` slots after the cursor's.
  void place(TrackedConnection& c, size_t ahead);

  std::array<Slot, kSlots> slots_;
  Slot due_;                // the slots that came due, while advance() goes through them
  size_t cursor_ = 0;       // the slot of [base_, base_ + kSlot)
  Clock::time_point base_;  // the start of the cursor's slot
};

}  // namespace proxy
