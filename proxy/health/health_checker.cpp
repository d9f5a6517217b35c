#include "proxy/health/health_checker.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "proxy/health/probe.h"
#include "proxy/log.h"
#include "routing/health_policy.h"
#include "routing/node_state.h"

namespace proxy::health {

namespace asio = boost::asio;
using asio::awaitable;
using routing::Clock;
using routing::Health;
using std::chrono::milliseconds;

namespace {

// What a loop probes with; replaced whole by a reload, kept by a probe while it runs.
struct LoopSettings {
  std::string pool;
  routing::CheckSettings check;
  routing::HealthPolicy policy;
  std::optional<tls::ClientTls> tls;  // the context to probe with, when the check speaks TLS
  std::string tls_error;              // why there is none when there should be one
  routing::ProxyProtocol proxy_protocol = routing::ProxyProtocol::Off;  // sent first, as traffic
};

void log_change(const std::optional<routing::StateChange>& change, std::string_view pool) {
  if (!change) return;
  const std::string line = "health: " + routing::describe(*change, pool);
  if (change->health_to == Health::Down)
    log_error(line);
  else
    log_info(line);
}

// While a node ramps up its weight is raised at least every second, and in at least 32 steps
// for a short slow start.
Clock::duration ramp_tick(const routing::HealthPolicy& policy) {
  return std::clamp<Clock::duration>(policy.slow_start / 32, milliseconds(100),
                                     milliseconds(1'000));
}

std::string describe_check(const routing::CheckSettings& c) {
  switch (c.type) {
    case routing::CheckType::Http:
      return "http " + c.method + " " + c.path + ", status " + std::to_string(c.status_min) + "-" +
             std::to_string(c.status_max) + (c.expect_body.empty() ? "" : ", body match");
    case routing::CheckType::Tcp:
      return "tcp connect";
    case routing::CheckType::Tls:
      return c.ca.empty() ? "tls handshake" : "tls handshake, verified";
    case routing::CheckType::Imap:
      return "imap greeting";
    case routing::CheckType::Pop3:
      return "pop3 greeting";
    case routing::CheckType::Smtp:
      return "smtp greeting and EHLO";
    case routing::CheckType::None:
      break;
  }
  return "none";
}

// In maintenance the checks are off; the loop looks this often whether they are back on.
constexpr Clock::duration kMaintenancePoll = milliseconds(1'000);

}  // namespace

struct HealthChecker::Target {
  Target(asio::io_context& ctx, std::shared_ptr<routing::Node> n,
         std::shared_ptr<const LoopSettings> s, uint64_t seed)
      : node(std::move(n)),
        settings(std::move(s)),
        counter(settings->policy.rise, settings->policy.fall, node->health()),
        random(seed),
        timer(ctx) {}

  std::shared_ptr<routing::Node> node;
  std::shared_ptr<const LoopSettings> settings;
  routing::HealthCounter counter;
  routing::FastRandom random;
  asio::steady_timer timer;
  asio::cancellation_signal cancel;
  bool replan = false;  // settings changed: draw the next probe time again
  bool stopped = false;
  // Up, but the next probe decides alone: a failure takes the node down at once. For a node
  // new to the checks, and one back from maintenance.
  bool probation = false;
  const char* probation_what = "first probe";
};

namespace {

using Target = HealthChecker::Target;

// Advances a starting node's ramp, and logs its end.
void tick_slow_start(Target& t, Clock::time_point now) {
  if (t.node->health() != Health::Starting) return;
  log_change(routing::advance_slow_start(*t.node, t.settings->policy.slow_start, now),
             t.settings->pool);
}

// Kept on the node for the admin API and /metrics: counts, duration, last result and time.
void record_probe(routing::Node& node, const ProbeResult& r, Clock::duration took) {
  using routing::CheckOutcome;
  CheckOutcome outcome = r.ok                              ? CheckOutcome::Ok
                         : r.detail.starts_with("timeout") ? CheckOutcome::Timeout
                                                           : CheckOutcome::Failed;
  auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  node.checks().record(outcome, r.detail, took, unix_ms);
}

awaitable<void> check_loop(std::shared_ptr<Target> t) {
  const routing::SteadyClock clock;
  Clock::time_point next = clock.now() + first_check_delay(t->settings->policy, t->random);
  bool in_maintenance = false;
  while (!t->stopped) {
    // Until the next probe: ramp a starting node up meanwhile.
    Clock::time_point now = clock.now();
    if (t->replan) {
      t->replan = false;
      next = std::min(next, now + first_check_delay(t->settings->policy, t->random));
    }
    tick_slow_start(*t, now);
    if (now < next) {
      Clock::time_point wake = next;
      if (t->node->health() == Health::Starting)
        wake = std::min(wake, now + ramp_tick(t->settings->policy));
      t->timer.expires_at(wake);
      co_await t->timer.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (!routing::checks_enabled(*t->node)) {
      in_maintenance = true;
      next = now + kMaintenancePoll;
      continue;
    }
    if (in_maintenance) {
      in_maintenance = false;
      t->probation = t->node->health() != Health::Down;
      t->probation_what = "first probe after maintenance";
    }

    const std::shared_ptr<const LoopSettings> s = t->settings;  // kept while the probe runs
    ProbeResult result;
    const Clock::time_point probe_start = clock.now();
    if (s->tls_error.empty()) {
      result = co_await run_probe(s->check, *t->node, s->check.timeout, s->tls ? &*s->tls : nullptr,
                                  s->proxy_protocol);
    } else {
      result = {false, s->tls_error};
    }
    if (t->stopped) break;
    now = clock.now();
    record_probe(*t->node, result, now - probe_start);
    std::optional<routing::StateChange> change;
    if (t->probation && !result.ok && routing::checks_enabled(*t->node)) {
      // On probation one failure is enough (HAProxy's "start OK, check at once").
      t->counter.reset(Health::Down);
      change = routing::mark_down(
          *t->node,
          "health check failed at its " + std::string(t->probation_what) + ": " + result.detail,
          now);
    } else {
      change = routing::apply_check(*t->node, t->counter, result.ok, result.detail,
                                    t->settings->policy, now);
    }
    t->probation = false;
    log_change(change, s->pool);
    tick_slow_start(*t, now);
    next = now + next_check_delay(t->settings->policy, t->counter, t->random);
  }
}

std::shared_ptr<const LoopSettings> loop_settings(const Snapshot& snap, const routing::Pool& pool,
                                                  const std::shared_ptr<const LoopSettings>& old) {
  auto s = std::make_shared<LoopSettings>();
  s->pool = pool.name();
  s->check = pool.settings().check;
  s->policy = pool.settings().health;
  s->proxy_protocol = pool.settings().proxy_protocol;
  if (s->check.type == routing::CheckType::Tls) {
    // The same context as before when the check did not change: no reload of the CA file.
    if (old && old->check == s->check && old->tls) {
      s->tls = old->tls;
    } else {
      std::string error;
      auto ctx = tls::ClientTls::make(!s->check.ca.empty(), s->check.ca, error);
      if (ctx) {
        s->tls = std::move(ctx);
      } else {
        s->tls_error = "no TLS client context: " + error;
        log_error("health: pool \"" + pool.name() + "\": check " + s->tls_error);
      }
    }
  } else if (s->check.type != routing::CheckType::Tcp) {
    if (const tls::ClientTls* ctx = snap.client_tls(pool)) s->tls = *ctx;
  }
  return s;
}

}  // namespace

HealthChecker::HealthChecker(asio::io_context& ctx)
    : ctx_(ctx),
      seed_(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
            reinterpret_cast<uintptr_t>(this)) {}

HealthChecker::~HealthChecker() {
  // Loops still on the io_context own their state; they only need to be told to end.
  stop_all();
}

void HealthChecker::update(std::shared_ptr<const Snapshot> snap) {
  asio::post(ctx_, [this, snap = std::move(snap)] {
    if (!stopped_) apply(snap);
  });
}

void HealthChecker::stop() {
  asio::post(ctx_, [this] {
    stopped_ = true;
    stop_all();
  });
}

void HealthChecker::stop_all() {
  for (auto& [node, t] : targets_) {
    t->stopped = true;
    t->timer.cancel();
    t->cancel.emit(asio::cancellation_type::terminal);
  }
  targets_.clear();
}

void HealthChecker::apply(const std::shared_ptr<const Snapshot>& snap) {
  const routing::SteadyClock clock;
  std::map<const routing::Node*, std::shared_ptr<Target>> next;
  for (const auto& pool : snap->pools()) {
    if (pool->settings().check.type == routing::CheckType::None) continue;
    std::shared_ptr<const LoopSettings> fresh;  // shared by the pool's new loops
    size_t started = 0;
    for (const auto& node : pool->shared_nodes()) {
      if (next.contains(node.get())) continue;
      auto found = targets_.find(node.get());
      if (found == targets_.end()) {
        if (!fresh) fresh = loop_settings(*snap, *pool, nullptr);
        auto t = std::make_shared<Target>(ctx_, node, fresh, seed_ += 0x9E3779B97F4A7C15ull);
        t->probation = node->health() != Health::Down;
        asio::co_spawn(ctx_, check_loop(t),
                       asio::bind_cancellation_slot(t->cancel.slot(), [t](std::exception_ptr e) {
                         if (!e || t->stopped) return;
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           log_error("health: checks of node \"" + t->node->name() +
                                     "\" stopped: " + ex.what());
                         }
                       }));
        next.emplace(node.get(), std::move(t));
        ++started;
        continue;
      }
      // Carried over: same counter, new settings.
      std::shared_ptr<Target> t = found->second;
      auto s = loop_settings(*snap, *pool, t->settings);
      const routing::HealthPolicy& old = t->settings->policy;
      if (s->policy.rise != old.rise || s->policy.fall != old.fall)
        t->counter = routing::HealthCounter(s->policy.rise, s->policy.fall, node->health());
      if (s->policy != old || s->check != t->settings->check) {
        t->replan = true;
        t->timer.cancel();
      }
      t->settings = std::move(s);
      next.emplace(node.get(), std::move(t));
    }
    if (started) {
      log_info("health: pool \"" + pool->name() + "\": checking " + std::to_string(started) +
               (started == 1 ? " node" : " nodes") + " every " +
               std::to_string(fresh->policy.interval.count()) + " ms (" +
               describe_check(fresh->check) + ")");
    }
  }
  for (auto& [node, t] : targets_) {
    if (next.contains(node)) continue;
    t->stopped = true;
    t->timer.cancel();
    t->cancel.emit(asio::cancellation_type::terminal);
    // Still in the configuration without a check: nothing will bring it back up but this.
    if (snap->has_node(node) && t->node->health() != Health::Up)
      log_change(routing::set_health(*t->node, Health::Up, "health check removed", clock.now()),
                 t->settings->pool);
  }
  targets_ = std::move(next);
}

}  // namespace proxy::health
