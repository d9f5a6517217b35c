// passeur_node_* state families: health and admin state, checks, last change.
#include <chrono>

#include "proxy/metrics/exposition.h"
#include "proxy/metrics/family_builder.h"
#include "routing/node_state.h"

namespace proxy::metrics {
namespace {

using prometheus::MetricType;

constexpr const char* kCheckOutcomes[] = {"ok", "failed", "timeout"};
static_assert(std::size(kCheckOutcomes) == routing::kCheckOutcomes);

// A steady-clock time point as unix seconds.
double unix_seconds(routing::Clock::time_point t) {
  using namespace std::chrono;
  auto ago = routing::Clock::clock::now() - t;
  return duration<double>(system_clock::now().time_since_epoch() - ago).count();
}

}  // namespace

void collect_node_state(const Sources& s, std::vector<prometheus::MetricFamily>& out) {
  struct Row {
    const std::string& pool;
    const routing::Node& node;
    routing::NodeStateView v;
  };
  std::vector<Row> rows;
  for (const auto& pool : s.snapshot->pools())
    for (const routing::Node* node : pool->nodes())
      rows.push_back({pool->name(), *node, routing::read_state(*node)});

  using routing::Admin;
  using routing::Health;
  FamilyBuilder health(out, "passeur_node_health",
                       "Health set by checks: 1 for the node's state, 0 for the others.",
                       MetricType::Gauge);
  for (const auto& r : rows) {
    const std::pair<const char*, Health> states[] = {
        {"up", Health::Up}, {"starting", Health::Starting}, {"down", Health::Down}};
    for (const auto& [name, h] : states)
      health.gauge({{"pool", r.pool}, {"node", r.node.name()}, {"state", name}},
                   r.v.health == h ? 1 : 0);
  }
  FamilyBuilder admin(out, "passeur_node_admin_state",
                      "State set by operators: 1 for the node's state, 0 for the others.",
                      MetricType::Gauge);
  for (const auto& r : rows) {
    const std::pair<const char*, Admin> states[] = {{"active", Admin::Active},
                                                    {"draining", Admin::Draining},
                                                    {"maintenance", Admin::Maintenance}};
    for (const auto& [name, a] : states)
      admin.gauge({{"pool", r.pool}, {"node", r.node.name()}, {"state", name}},
                  r.v.admin == a ? 1 : 0);
  }
  FamilyBuilder usable(out, "passeur_node_usable",
                       "1 when the node takes new work (up or starting, and active).",
                       MetricType::Gauge);
  for (const auto& r : rows)
    usable.gauge({{"pool", r.pool}, {"node", r.node.name()}}, r.v.usable ? 1 : 0);

  FamilyBuilder checks(out, "passeur_node_checks_total", "Active health checks by outcome.",
                       MetricType::Counter);
  for (const auto& r : rows)
    for (size_t o = 0; o < routing::kCheckOutcomes; ++o)
      checks.counter({{"pool", r.pool}, {"node", r.node.name()}, {"result", kCheckOutcomes[o]}},
                     r.node.checks().results[o].get());
  FamilyBuilder duration(out, "passeur_node_check_duration_seconds",
                         "Duration of active health checks.", MetricType::Histogram);
  for (const auto& r : rows) {
    HistogramSum h;
    h.add(r.node.checks().duration);
    duration.histogram({{"pool", r.pool}, {"node", r.node.name()}}, h,
                       routing::ConnectHistogram::bounds_ns());
  }

  FamilyBuilder last(out, "passeur_node_last_change_timestamp_seconds",
                     "When the node last changed health or admin state (process start if never).",
                     MetricType::Gauge);
  for (const auto& r : rows) {
    std::optional<routing::Clock::time_point> t = r.v.health_since;
    if (r.v.admin_since && (!t || *r.v.admin_since > *t)) t = r.v.admin_since;
    last.gauge({{"pool", r.pool}, {"node", r.node.name()}},
               t ? unix_seconds(*t) : static_cast<double>(s.start_unix));
  }
  FamilyBuilder changes(out, "passeur_node_state_changes_total",
                        "Changes of health (by checks) and admin state (by operators).",
                        MetricType::Counter);
  for (const auto& r : rows) {
    changes.counter({{"pool", r.pool}, {"node", r.node.name()}, {"axis", "health"}},
                    static_cast<double>(r.v.health_changes));
    changes.counter({{"pool", r.pool}, {"node", r.node.name()}, {"axis", "admin"}},
                    static_cast<double>(r.v.admin_changes));
  }
}

}  // namespace proxy::metrics
