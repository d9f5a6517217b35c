#include "proxy/admin/status_view.h"

#include <cstdio>
#include <functional>

#include "routing/node_state.h"

namespace proxy::admin {
namespace {

std::string_view balance_name(routing::Balance b) {
  return b == routing::Balance::RoundRobin ? "round_robin" : "least_loaded";
}

NodeView node_view(const routing::Node& node, const StatusHistory* history,
                   routing::Clock::time_point now, int64_t now_ms) {
  NodeView v;
  const routing::NodeStateView s = routing::read_state(node);
  v.name = node.name();
  v.address = node.settings().address;
  v.health = routing::to_string(s.health);
  v.admin = routing::to_string(s.admin);
  v.weight = s.weight;
  v.in_flight = s.in_flight;
  for (unsigned w = 0; w < node.workers(); ++w) v.connections += node.traffic(w).connections.get();
  const auto& checks = node.checks();
  if (int64_t at_ms = checks.last_unix_ms.load(std::memory_order_acquire); at_ms != 0) {
    static constexpr const char* kOutcomes[] = {"ok", "failed", "timeout"};
    v.check = kOutcomes[static_cast<size_t>(checks.last_outcome.load())];
    if (auto d = checks.last_detail.load()) v.check_detail = *d;
    v.check_age = now_ms > at_ms ? static_cast<double>(now_ms - at_ms) / 1000.0 : 0.0;
  }
  const TrafficCounts counts = StatusHistory::counts(node);
  v.requests = counts.requests;
  if (history)
    if (const TrafficHistory* h = history->node(node)) v.minute = h->last_minute(now, counts);
  return v;
}

}  // namespace

StatusView build_status_view(const Snapshot& snapshot, const StatusSources& sources,
                             const StatusHistory* history, routing::Clock::time_point now,
                             int64_t now_unix) {
  StatusView view;
  view.now_unix = now_unix;
  view.seq = history ? history->samples() : 0;
  view.reload = sources.reload;
  std::string layout;
  // The checks' times are wall-clock milliseconds.
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  for (size_t i = 0; i < sources.listeners.size(); ++i) {
    ListenerView l{sources.listeners[i], {}};
    if (history)
      if (const TrafficHistory* h = history->listener(i))
        l.minute = h->last_minute(now, l.status.counts);
    layout += "L" + l.status.name + '\n';
    view.listeners.push_back(std::move(l));
  }
  for (const auto& pool : snapshot.pools()) {
    PoolView p;
    p.name = pool->name();
    p.balance = balance_name(pool->settings().balance);
    layout += "P" + p.name + '\n';
    for (const routing::Node* n : pool->nodes()) {
      NodeView nv = node_view(*n, history, now, now_ms);
      if (sources.users && pool->settings().affinity == routing::Affinity::User)
        nv.mail_users = sources.users->on_identity(routing::user_node_identity(*n)).users;
      if (n->usable()) ++p.usable;
      layout += "N" + nv.name + '\n';
      p.nodes.push_back(std::move(nv));
    }
    view.pools.push_back(std::move(p));
  }
  for (const auto& c : sources.certificates) {
    CertificateView cv{c, 0};
    const int64_t left = c.not_after - now_unix;
    cv.days_left = left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
    view.certificates.push_back(std::move(cv));
  }
  char hash[32];
  std::snprintf(hash, sizeof hash, "%016zx", std::hash<std::string>{}(layout));
  view.layout = hash;
  return view;
}

}  // namespace proxy::admin
