// The rise/fall counter of active health checks: the pure part of a checker, fed one probe
// result at a time.
//
// A node that is up goes down after `fall` consecutive failures; a node that is down goes up
// after `rise` consecutive successes. A success breaks a run of failures and a failure breaks a
// run of successes, so a flapping node stays where it is (the "consecutive" of HAProxy's
// `rise`/`fall` documentation, and Pingora's flip threshold). While a run is under way
// (up with some failures, or down with some successes) the node is changing state and its
// checker probes it at the fast interval (HAProxy's `fastinter`).
#pragma once

#include <cstdint>

#include "routing/node.h"

namespace routing {

class HealthCounter {
 public:
  enum class Transition : uint8_t { None, WentUp, WentDown };

  // rise and fall of 0 count as 1. An initial Starting counts as Up: the counter knows only
  // up and down, slow start is the node's business.
  HealthCounter(uint32_t rise, uint32_t fall, Health initial);

  Transition observe(bool success);

  Health state() const { return up_ ? Health::Up : Health::Down; }
  // Between thresholds: probe at the fast interval.
  bool changing() const { return up_ ? failures_ > 0 : successes_ > 0; }

  // Takes a state decided elsewhere (passive checks marked the node down, a reload made the
  // counter anew) and forgets the current run.
  void reset(Health state);
  // Up, with the next failure enough to go down, and changing() so the next probe comes at the
  // fast interval: how a node is taken back after maintenance, as HAProxy does ("start OK but
  // check immediately").
  void probation();

  uint32_t rise() const { return rise_; }
  uint32_t fall() const { return fall_; }
  uint32_t successes() const { return successes_; }  // current run of successes
  uint32_t failures() const { return failures_; }    // current run of failures

 private:
  uint32_t rise_;
  uint32_t fall_;
  bool up_;
  uint32_t successes_ = 0;
  uint32_t failures_ = 0;
};

}  // namespace routing
