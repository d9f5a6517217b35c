// passeur_node_* traffic families: per pool and node, summed over the workers' slots.
#include <set>
#include <string_view>

#include "proxy/config/settings.h"
#include "proxy/metrics/exposition.h"
#include "proxy/metrics/family_builder.h"
#include "routing/node.h"

namespace proxy::metrics {
namespace {

using prometheus::MetricType;

constexpr const char* kConnectErrors[] = {"refused", "timeout", "tls", "other"};
static_assert(std::size(kConnectErrors) == routing::kConnectErrorKinds);
constexpr const char* kMailLogins[] = {"ok", "refused", "failed"};
static_assert(std::size(kMailLogins) == routing::kMailLoginResults);

template <class Get>
uint64_t sum(const routing::Node& node, Get get) {
  uint64_t total = 0;
  for (unsigned w = 0; w < node.workers(); ++w) total += get(node.traffic(w));
  return total;
}

template <class Fn>
void each_node(const Sources& s, Fn fn) {
  for (const auto& pool : s.snapshot->pools())
    for (const routing::Node* node : pool->nodes()) fn(pool->name(), *node);
}

}  // namespace

void collect_nodes(const Sources& s, std::vector<prometheus::MetricFamily>& out) {
  FamilyBuilder requests(out, "passeur_node_requests_total",
                         "Requests answered after reaching the node, by status class.",
                         MetricType::Counter);
  each_node(s, [&](const std::string& pool, const routing::Node& n) {
    for (size_t c = 0; c < 5; ++c)
      requests.counter({{"pool", pool}, {"node", n.name()}, {"code", kStatusClasses[c]}},
                       sum(n, [c](const auto& t) { return t.responses[c].get(); }));
  });

  auto histogram = [&](const char* name, const char* help, auto member, auto bounds) {
    FamilyBuilder f(out, name, help, MetricType::Histogram);
    each_node(s, [&](const std::string& pool, const routing::Node& n) {
      HistogramSum h;
      for (unsigned w = 0; w < n.workers(); ++w) h.add(n.traffic(w).*member);
      f.histogram({{"pool", pool}, {"node", n.name()}}, h, bounds);
    });
  };
  histogram("passeur_node_response_header_duration_seconds",
            "From the start of a request to the node's response head.",
            &routing::NodeTraffic::header_time, routing::LatencyHistogram::bounds_ns());
  histogram("passeur_node_request_duration_seconds",
            "From the start of a request to the last byte of its response.",
            &routing::NodeTraffic::total_time, routing::LatencyHistogram::bounds_ns());
  histogram("passeur_node_connect_duration_seconds",
            "Time to open a connection to the node (TCP, and TLS when re-encrypting).",
            &routing::NodeTraffic::connect_time, routing::ConnectHistogram::bounds_ns());

  // TCP (mail) pools: how long sessions last.
  {
    FamilyBuilder f(out, "passeur_node_session_duration_seconds",
                    "Duration of TCP (mail) sessions on the node, from accept to close.",
                    MetricType::Histogram);
    for (const auto& pool : s.snapshot->pools()) {
      bool tcp = false;
      for (const auto& l : s.snapshot->config().listeners)
        tcp = tcp || (relays_sessions(l.protocol) && l.pool == pool->name());
      if (!tcp) continue;
      for (const routing::Node* n : pool->nodes()) {
        HistogramSum h;
        for (unsigned w = 0; w < n->workers(); ++w) h.add(n->traffic(w).session_time);
        f.histogram({{"pool", pool->name()}, {"node", n->name()}}, h,
                    routing::SessionHistogram::bounds_ns());
      }
    }
  }

  FamilyBuilder in_flight(out, "passeur_node_in_flight_requests",
                          "Requests (or connections) on the node now, all workers together.",
                          MetricType::Gauge);
  each_node(s, [&](const std::string& pool, const routing::Node& n) {
    in_flight.gauge({{"pool", pool}, {"node", n.name()}}, n.in_flight());
  });

  auto gauge_sum = [&](const char* name, const char* help, auto member) {
    FamilyBuilder f(out, name, help, MetricType::Gauge);
    each_node(s, [&](const std::string& pool, const routing::Node& n) {
      int64_t v = 0;
      for (unsigned w = 0; w < n.workers(); ++w) v += (n.traffic(w).*member).get();
      f.gauge({{"pool", pool}, {"node", n.name()}}, static_cast<double>(v));
    });
  };
  gauge_sum("passeur_node_connections_active", "Connections to the node open now.",
            &routing::NodeTraffic::connections);
  gauge_sum("passeur_node_connections_idle",
            "Open connections to the node kept idle for reuse (keep-alive pool).",
            &routing::NodeTraffic::idle);

  FamilyBuilder errors(out, "passeur_node_connect_errors_total",
                       "Failed connections to the node, by reason.", MetricType::Counter);
  each_node(s, [&](const std::string& pool, const routing::Node& n) {
    for (size_t r = 0; r < routing::kConnectErrorKinds; ++r)
      errors.counter({{"pool", pool}, {"node", n.name()}, {"reason", kConnectErrors[r]}},
                     sum(n, [r](const auto& t) { return t.connect_errors[r].get(); }));
  });

  // Pools of mail listeners only.
  std::set<std::string_view> mail_pools;
  for (const auto& l : s.snapshot->config().listeners)
    if (is_mail(l.protocol)) mail_pools.insert(l.pool);
  FamilyBuilder logins(out, "passeur_node_mail_logins_total",
                       "Mail logins replayed on the node, by its answer (ok, refused, failed).",
                       MetricType::Counter);
  each_node(s, [&](const std::string& pool, const routing::Node& n) {
    if (!mail_pools.contains(pool)) return;
    for (size_t r = 0; r < routing::kMailLoginResults; ++r)
      logins.counter({{"pool", pool}, {"node", n.name()}, {"result", kMailLogins[r]}},
                     sum(n, [r](const auto& t) { return t.mail_logins[r].get(); }));
  });

  auto counter_sum = [&](const char* name, const char* help, auto member) {
    FamilyBuilder f(out, name, help, MetricType::Counter);
    each_node(s, [&](const std::string& pool, const routing::Node& n) {
      f.counter({{"pool", pool}, {"node", n.name()}},
                sum(n, [member](const auto& t) { return (t.*member).get(); }));
    });
  };
  counter_sum("passeur_node_retries_total",
              "Requests tried again elsewhere after a failure on this node.",
              &routing::NodeTraffic::retries);
  counter_sum("passeur_node_sent_bytes_total", "Request bytes sent to the node.",
              &routing::NodeTraffic::sent_bytes);
  counter_sum("passeur_node_received_bytes_total",
              "Response bytes relayed from the node to clients.",
              &routing::NodeTraffic::received_bytes);
}

}  // namespace proxy::metrics
