// The connections a worker serves, for its deadline sweep and for a graceful stop.
// A connection's deadline is a plain field that the session moves forward as it makes progress;
// the worker's tick closes those whose deadline has passed, found through the worker's
// DeadlineWheel (deadline_wheel.h). No timer is armed per operation, so no timer system call is
// made per request.
#pragma once

#include <chrono>

#include <boost/intrusive/list.hpp>

namespace proxy {

class DeadlineWheel;

using Clock = std::chrono::steady_clock;

class TrackedConnection : public boost::intrusive::list_base_hook<
                              boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  virtual ~TrackedConnection() = default;
  // The deadline passed: cancel what is pending (the session then decides what to answer).
  virtual void expire() = 0;
  // The worker is stopping: close now if idle between requests, else finish the current one.
  virtual void stop_gracefully() = 0;
  // Is this connection working for a node whose drain_timeout has run out?
  virtual bool drain_cut_due(Clock::time_point) const { return false; }

  // Moving a deadline later is a store; moving it earlier than the wheel's slot for it files
  // the connection again.
  void set_deadline(Clock::time_point t) {
    deadline_ = t;
    if (t < filed_at_ && wheel_) refile();
  }
  void clear_deadline() { deadline_ = Clock::time_point::max(); }
  Clock::time_point deadline() const { return deadline_; }

  // The worker's wheel, from WorkerContext::track(): the connection is filed from then on.
  void track_in(DeadlineWheel& wheel);

 private:
  friend class DeadlineWheel;
  using WheelHook = boost::intrusive::list_member_hook<
      boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

  void refile();

  Clock::time_point deadline_ = Clock::time_point::max();
  WheelHook wheel_hook_;
  // The start of the wheel slot the connection is filed under; max: not filed.
  Clock::time_point filed_at_ = Clock::time_point::max();
  DeadlineWheel* wheel_ = nullptr;
};

using ConnectionList =
    boost::intrusive::list<TrackedConnection, boost::intrusive::constant_time_size<false>>;

}  // namespace proxy
