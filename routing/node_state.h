// Changes of a node's state, each through a named function that carries its cause (as HAProxy's
// srv_set_stopped(s, cause)): it changes the node, counts the change on the node, and returns
// what changed, for the caller to log. Nothing happens, and nothing is returned, when the node
// is already in the state asked for.
//
// Two axes, as HAProxy and Pingora keep them: health (Down, Starting, Up) is set by checks,
// admin (Active, Draining, Maintenance) by operators. Node::usable() combines them: up or
// starting, and active. Draining and Maintenance both stop new work and let in-flight work run
// until done or until the drain timeout; Maintenance also stops the health checks.
//
// Thread safety: every function here may be called from any thread; each change is an atomic
// exchange, so it is counted once and reports the state it replaced. Changes towards Up or
// Starting (checks, slow start) are expected from one thread per node, the checker's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "routing/health_clock.h"
#include "routing/health_counter.h"
#include "routing/health_policy.h"
#include "routing/node.h"

namespace routing {

std::string_view to_string(Health h);  // "down", "starting", "up"
std::string_view to_string(Admin a);   // "active", "draining", "maintenance"

struct StateChange {
  std::string node;     // name
  std::string address;  // as configured
  Health health_from = Health::Up;
  Health health_to = Health::Up;
  Admin admin_from = Admin::Active;
  Admin admin_to = Admin::Active;
  std::string cause;
  Clock::time_point at{};

  bool health_changed() const { return health_from != health_to; }
  bool admin_changed() const { return admin_from != admin_to; }
  bool usable_before() const { return usable(health_from, admin_from); }
  bool usable_after() const { return usable(health_to, admin_to); }
  static bool usable(Health h, Admin a) {
    return (h == Health::Up || h == Health::Starting) && a == Admin::Active;
  }
};

// One log line: `pool "cloud" node "node1" (10.0.0.11:8081): health up -> down, no longer
// usable: health check failed 3 times in a row: connection refused`.
std::string describe(const StateChange& change, std::string_view pool);

// --- Health (checks) -------------------------------------------------------------------------

// Going to Starting puts the weight ramp at its lowest (advance_slow_start() raises it); going to
// Up or Down puts it back to full. Going to Starting or Up forgets the passive failure run.
std::optional<StateChange> set_health(Node& node, Health to, std::string_view cause,
                                      Clock::time_point now);
// Up: to Starting when slow_start is not zero, else to Up. Nothing when already up or starting.
std::optional<StateChange> mark_up(Node& node, Clock::duration slow_start, std::string_view cause,
                                   Clock::time_point now);
std::optional<StateChange> mark_down(Node& node, std::string_view cause, Clock::time_point now);

// For a Starting node: sets its weight ramp for `now`, and makes it Up once slow_start has
// elapsed since it came up ("slow start done"). Call it on every check tick, or more often for
// a smoother ramp; nothing for a node that is not Starting.
std::optional<StateChange> advance_slow_start(Node& node, Clock::duration slow_start,
                                              Clock::time_point now);

// One active probe result. The counter follows the node first (a node marked down by passive
// checks needs `rise` successes, like any down node), then the result is counted, and a rise
// or fall changes the node (through Starting when the policy has a slow start). `detail` says
// what the probe saw ("HTTP 503", "connection refused") and goes into the cause. Nothing while
// the node is in maintenance: its checks are off.
std::optional<StateChange> apply_check(Node& node, HealthCounter& counter, bool success,
                                       std::string_view detail, const HealthPolicy& policy,
                                       Clock::time_point now);

// Maintenance turns the checks of a node off.
inline bool checks_enabled(const Node& node) {
  return node.admin() != Admin::Maintenance;
}

// --- Passive checks (live traffic) -----------------------------------------------------------

enum class PassiveResult : uint8_t { Success, ConnectFailure, ServerError /* 5xx answer */ };

std::optional<StateChange> passive_failure(Node& node, PassiveResult result,
                                           const HealthPolicy& policy, const Clock& clock);

// What a request or connection learned about its node. policy.passive_failures failures in a
// row (connect failures, and 5xx answers when policy.passive_5xx) mark it down at once; any
// other outcome ends the run. On the request path: a success costs one relaxed load, and the
// clock is read only when the node changes.
inline std::optional<StateChange> observe_passive(Node& node, PassiveResult result,
                                                  const HealthPolicy& policy, const Clock& clock) {
  if (policy.passive_failures == 0) return std::nullopt;
  if (result == PassiveResult::Success ||
      (result == PassiveResult::ServerError && !policy.passive_5xx)) {
    node.passive().success();
    return std::nullopt;
  }
  return passive_failure(node, result, policy, clock);
}

// --- Admin (operators) -----------------------------------------------------------------------

// Leaving Maintenance keeps the health the node had; its checker resumes (see
// HealthCounter::probation() to re-check it at once).
std::optional<StateChange> set_admin(Node& node, Admin to, std::string_view cause,
                                     Clock::time_point now);

// When in-flight work on a draining (or maintained) node is to be cut: drain_timeout after the
// node left Active. nullopt when the node is Active, the timeout is zero (never cut), or the
// change was not made through set_admin().
std::optional<Clock::time_point> drain_deadline(const Node& node, Clock::duration drain_timeout);
bool drain_expired(const Node& node, Clock::duration drain_timeout, Clock::time_point now);

// --- Reading ---------------------------------------------------------------------------------

// Everything the admin API and /metrics show of a node, read with relaxed loads (each field is
// current; together they may straddle a change made at the same moment).
struct NodeStateView {
  Health health = Health::Up;
  Admin admin = Admin::Active;
  bool usable = true;
  uint32_t weight = 1;
  uint32_t ramp = Node::kFullRamp;
  uint32_t effective_weight = Node::kFullRamp;
  uint32_t in_flight = 0;
  uint32_t passive_streak = 0;
  uint64_t health_changes = 0;
  uint64_t admin_changes = 0;
  uint64_t downs = 0;
  std::optional<Clock::time_point> health_since;  // nullopt: never changed since start
  std::optional<Clock::time_point> admin_since;
  std::string last_cause;
};
NodeStateView read_state(const Node& node);

}  // namespace routing
