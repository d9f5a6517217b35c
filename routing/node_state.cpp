#include "routing/node_state.h"

#include <chrono>
#include <memory>

#include "routing/slow_start.h"

namespace routing {
namespace {

int64_t to_stamp(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::optional<Clock::time_point> from_stamp(int64_t ns) {
  if (ns == 0) return std::nullopt;
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}

StateChange change_of(const Node& node, std::string_view cause, Clock::time_point now) {
  StateChange c;
  c.node = node.name();
  c.address = node.settings().address;
  c.health_from = c.health_to = node.health();
  c.admin_from = c.admin_to = node.admin();
  c.cause = std::string(cause);
  c.at = now;
  return c;
}

void record_cause(Node& node, std::string_view cause) {
  node.state_stats().last_cause.store(std::make_shared<const std::string>(cause),
                                      std::memory_order_release);
}

std::string times(uint32_t n) {
  return std::to_string(n) + (n == 1 ? " time" : " times");
}

std::string with_detail(std::string text, std::string_view detail) {
  if (!detail.empty()) {
    text += ": ";
    text += detail;
  }
  return text;
}

std::string_view passive_name(PassiveResult r) {
  switch (r) {
    case PassiveResult::ConnectFailure:
      return "connect failure";
    case PassiveResult::ServerError:
      return "5xx answer";
    case PassiveResult::Success:
      break;
  }
  return "success";
}

}  // namespace

std::string_view to_string(Health h) {
  switch (h) {
    case Health::Down:
      return "down";
    case Health::Starting:
      return "starting";
    case Health::Up:
      return "up";
  }
  return "?";
}

std::string_view to_string(Admin a) {
  switch (a) {
    case Admin::Active:
      return "active";
    case Admin::Draining:
      return "draining";
    case Admin::Maintenance:
      return "maintenance";
  }
  return "?";
}

std::string describe(const StateChange& c, std::string_view pool) {
  std::string s;
  if (!pool.empty()) {
    s += "pool \"";
    s += pool;
    s += "\" ";
  }
  s += "node \"" + c.node + "\" (" + c.address + "): ";
  if (c.health_changed()) {
    s += "health ";
    s += to_string(c.health_from);
    s += " -> ";
    s += to_string(c.health_to);
  }
  if (c.admin_changed()) {
    if (c.health_changed()) s += ", ";
    s += "admin ";
    s += to_string(c.admin_from);
    s += " -> ";
    s += to_string(c.admin_to);
  }
  if (c.usable_before() != c.usable_after())
    s += c.usable_after() ? ", now usable" : ", no longer usable";
  s += ": ";
  s += c.cause;
  return s;
}

std::optional<StateChange> set_health(Node& node, Health to, std::string_view cause,
                                      Clock::time_point now) {
  StateChange c = change_of(node, cause, now);
  // The lowest ramp goes in before Starting does: no balancer sees a starting node at full
  // weight.
  if (to == Health::Starting && c.health_from != Health::Starting) node.set_ramp(1);
  const Health from = node.exchange_health(to);
  if (from == to) return std::nullopt;
  c.health_from = from;
  c.health_to = to;
  if (to != Health::Starting) node.set_ramp(Node::kFullRamp);
  if (to != Health::Down) node.passive().reset();

  Node::StateStats& st = node.state_stats();
  st.health_since.store(to_stamp(now), std::memory_order_relaxed);
  st.health_changes.fetch_add(1, std::memory_order_relaxed);
  if (to == Health::Down) st.downs.fetch_add(1, std::memory_order_relaxed);
  record_cause(node, cause);
  return c;
}

std::optional<StateChange> mark_up(Node& node, Clock::duration slow_start, std::string_view cause,
                                   Clock::time_point now) {
  if (node.health() != Health::Down) return std::nullopt;
  return set_health(node, slow_start > Clock::duration::zero() ? Health::Starting : Health::Up,
                    cause, now);
}

std::optional<StateChange> mark_down(Node& node, std::string_view cause, Clock::time_point now) {
  return set_health(node, Health::Down, cause, now);
}

std::optional<StateChange> advance_slow_start(Node& node, Clock::duration slow_start,
                                              Clock::time_point now) {
  if (node.health() != Health::Starting) return std::nullopt;
  const Clock::time_point since =
      from_stamp(node.state_stats().health_since.load(std::memory_order_relaxed))
          .value_or(Clock::time_point{});
  if (ramping(since, slow_start, now)) {
    node.set_ramp(slow_start_ramp(since, slow_start, now));
    return std::nullopt;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(slow_start).count();
  return set_health(node, Health::Up, "slow start done (" + std::to_string(ms) + " ms)", now);
}

std::optional<StateChange> apply_check(Node& node, HealthCounter& counter, bool success,
                                       std::string_view detail, const HealthPolicy& policy,
                                       Clock::time_point now) {
  if (!checks_enabled(node)) return std::nullopt;
  const bool node_down = node.health() == Health::Down;
  if (node_down != (counter.state() == Health::Down))
    counter.reset(node_down ? Health::Down : Health::Up);

  switch (counter.observe(success)) {
    case HealthCounter::Transition::WentUp:
      return mark_up(
          node, policy.slow_start,
          with_detail("health check passed " + times(counter.rise()) + " in a row", detail), now);
    case HealthCounter::Transition::WentDown:
      return mark_down(
          node, with_detail("health check failed " + times(counter.fall()) + " in a row", detail),
          now);
    case HealthCounter::Transition::None:
      break;
  }
  return std::nullopt;
}

std::optional<StateChange> passive_failure(Node& node, PassiveResult result,
                                           const HealthPolicy& policy, const Clock& clock) {
  if (!node.passive().failure(policy.passive_failures)) return std::nullopt;
  const std::string cause =
      std::to_string(policy.passive_failures) +
      " failures in a row on live traffic (last: " + std::string(passive_name(result)) + ")";
  return mark_down(node, cause, clock.now());
}

std::optional<StateChange> set_admin(Node& node, Admin to, std::string_view cause,
                                     Clock::time_point now) {
  StateChange c = change_of(node, cause, now);
  const Admin from = node.exchange_admin(to);
  if (from == to) return std::nullopt;
  c.admin_from = from;
  c.admin_to = to;

  Node::StateStats& st = node.state_stats();
  st.admin_since.store(to_stamp(now), std::memory_order_relaxed);
  st.admin_changes.fetch_add(1, std::memory_order_relaxed);
  record_cause(node, cause);
  return c;
}

std::optional<Clock::time_point> drain_deadline(const Node& node, Clock::duration drain_timeout) {
  if (node.admin() == Admin::Active || drain_timeout <= Clock::duration::zero())
    return std::nullopt;
  const auto since = from_stamp(node.state_stats().admin_since.load(std::memory_order_relaxed));
  if (!since) return std::nullopt;
  return *since + drain_timeout;
}

bool drain_expired(const Node& node, Clock::duration drain_timeout, Clock::time_point now) {
  const auto deadline = drain_deadline(node, drain_timeout);
  return deadline && now >= *deadline;
}

NodeStateView read_state(const Node& node) {
  const Node::StateStats& st = node.state_stats();
  NodeStateView v;
  v.health = node.health();
  v.admin = node.admin();
  v.usable = node.usable();
  v.weight = node.weight();
  v.ramp = node.ramp();
  v.effective_weight = node.effective_weight();
  v.in_flight = node.in_flight();
  v.passive_streak = node.passive().streak();
  v.health_changes = st.health_changes.load(std::memory_order_relaxed);
  v.admin_changes = st.admin_changes.load(std::memory_order_relaxed);
  v.downs = st.downs.load(std::memory_order_relaxed);
  v.health_since = from_stamp(st.health_since.load(std::memory_order_relaxed));
  v.admin_since = from_stamp(st.admin_since.load(std::memory_order_relaxed));
  if (auto cause = st.last_cause.load(std::memory_order_acquire)) v.last_cause = *cause;
  return v;
}

}  // namespace routing
