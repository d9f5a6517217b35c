#include "proxy/admin/status_json.h"

#include <cmath>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "proxy/admin/json_text.h"

namespace proxy::admin {
namespace {

namespace json = boost::json;

// Two decimals: enough for a person, short on the wire.
json::value rounded(double v) {
  return std::round(v * 100.0) / 100.0;
}

json::value optional_ms(const std::optional<double>& v) {
  if (!v) return nullptr;
  return rounded(*v);
}

}  // namespace

std::string status_json(const StatusView& view) {
  json::array listeners;
  for (const auto& l : view.listeners)
    listeners.push_back(json::object{{"name", l.status.name},
                                     {"listen", l.status.listen},
                                     {"kind", l.status.kind},
                                     {"connections", l.status.connections},
                                     {"accepted", l.status.accepted},
                                     {"requests", l.status.counts.requests},
                                     {"rate", rounded(l.minute.rate)}});
  json::array pools;
  for (const auto& p : view.pools) {
    json::array nodes;
    for (const auto& n : p.nodes) {
      json::array row{n.name,
                      n.health,
                      n.admin,
                      n.weight,
                      n.in_flight,
                      n.connections,
                      n.check.empty() ? json::value(nullptr) : json::value(n.check),
                      n.check_age < 0 ? json::value(nullptr) : json::value(rounded(n.check_age)),
                      n.requests,
                      rounded(n.minute.rate),
                      optional_ms(n.minute.p50_ms),
                      optional_ms(n.minute.p99_ms),
                      n.mail_users < 0 ? json::value(nullptr) : json::value(n.mail_users)};
      nodes.push_back(std::move(row));
    }
    pools.push_back(
        json::object{{"name", p.name}, {"usable", p.usable}, {"nodes", std::move(nodes)}});
  }
  json::array certs;
  for (const auto& c : view.certificates) {
    json::array names;
    for (const auto& n : c.cert.names) names.emplace_back(n);
    certs.push_back(json::object{{"path", c.cert.path},
                                 {"names", std::move(names)},
                                 {"not_after", c.cert.not_after},
                                 {"days_left", c.days_left}});
  }
  json::object o{{"time", view.now_unix},
                 {"seq", view.seq},
                 {"layout", view.layout},
                 {"reload", json::object{{"ok", view.reload.last_ok},
                                         {"at", view.reload.last_unix},
                                         {"seconds_ago", view.now_unix - view.reload.last_unix},
                                         {"successes", view.reload.successes},
                                         {"failures", view.reload.failures},
                                         {"message", view.reload.last_message}}},
                 {"listeners", std::move(listeners)},
                 {"node_fields", json::array{"name", "health", "admin", "weight", "in_flight",
                                             "connections", "check", "check_age", "requests",
                                             "rate", "p50_ms", "p99_ms", "mail_users"}},
                 {"pools", std::move(pools)},
                 {"certificates", std::move(certs)}};
  return to_json_text(o, false) + "\n";
}

std::string history_json(const Snapshot& snapshot, const StatusHistory& history,
                         const std::string& layout, uint64_t after) {
  const uint64_t seq = history.samples();
  const uint64_t wanted = after >= seq ? 0 : seq - after;
  json::array pools;
  for (const auto& pool : snapshot.pools()) {
    json::array nodes;
    for (const routing::Node* n : pool->nodes()) {
      json::array rates, p99s;
      if (const TrafficHistory* h = history.node(*n)) {
        const auto& pts = h->points();
        const size_t take =
            after == 0 || wanted > pts.size() ? pts.size() : static_cast<size_t>(wanted);
        for (size_t i = pts.size() - take; i < pts.size(); ++i) {
          rates.push_back(rounded(pts[i].rate));
          p99s.push_back(pts[i].p99_ms < 0 ? json::value(nullptr) : rounded(pts[i].p99_ms));
        }
      }
      nodes.push_back(json::array{std::move(rates), std::move(p99s)});
    }
    pools.push_back(std::move(nodes));
  }
  json::object o{{"seq", seq},
                 {"interval", TrafficHistory::kInterval.count()},
                 {"points", TrafficHistory::kPoints},
                 {"layout", layout},
                 {"pools", std::move(pools)}};
  return to_json_text(o, false) + "\n";
}

}  // namespace proxy::admin
