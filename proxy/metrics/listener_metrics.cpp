// passeur_listener_*: summed over workers, one series per listener (and label value).
#include "proxy/metrics/exposition.h"
#include "proxy/metrics/family_builder.h"
#include "proxy/worker_context.h"

namespace proxy::metrics {
namespace {

using prometheus::MetricType;

template <class Get>
uint64_t sum(const Sources& s, size_t listener, Get get) {
  uint64_t total = 0;
  for (const WorkerContext* w : s.workers) total += get(w->listener_traffic(listener));
  return total;
}

}  // namespace

void collect_listeners(const Sources& s, std::vector<prometheus::MetricFamily>& out) {
  const auto& listeners = s.snapshot->config().listeners;
  size_t n = s.workers.empty() ? 0 : std::min(listeners.size(), s.workers[0]->listener_count());

  FamilyBuilder accepted(out, "passeur_listener_connections_accepted_total",
                         "Client connections accepted.", MetricType::Counter);
  for (size_t i = 0; i < n; ++i)
    accepted.counter({{"listener", listeners[i].name}},
                     sum(s, i, [](const auto& t) { return t.accepted.get(); }));

  FamilyBuilder active(out, "passeur_listener_connections_active", "Client connections open now.",
                       MetricType::Gauge);
  for (size_t i = 0; i < n; ++i) {
    int64_t v = 0;
    for (const WorkerContext* w : s.workers) v += w->listener_traffic(i).active.get();
    active.gauge({{"listener", listeners[i].name}}, static_cast<double>(v));
  }

  FamilyBuilder tls(out, "passeur_listener_tls_handshakes_total",
                    "TLS handshakes by result (ok or why they failed) and protocol version.",
                    MetricType::Counter);
  for (size_t i = 0; i < n; ++i) {
    if (!listeners[i].tls) continue;
    for (size_t v = 0; v < tls::kTlsVersions; ++v) {
      auto ver = static_cast<tls::TlsVersion>(v);
      if (ver == tls::TlsVersion::Other) continue;
      tls.counter({{"listener", listeners[i].name},
                   {"result", "ok"},
                   {"version", tls::tls_version_name(ver)}},
                  sum(s, i, [v](const auto& t) { return t.handshakes_ok[v].get(); }));
    }
    for (size_t r = 1; r < tls::kHandshakeResults; ++r)
      tls.counter({{"listener", listeners[i].name},
                   {"result", tls::handshake_result_name(static_cast<tls::HandshakeResult>(r))},
                   {"version", "unknown"}},
                  sum(s, i, [r](const auto& t) { return t.handshakes_failed[r].get(); }));
  }

  FamilyBuilder logins(out, "passeur_listener_mail_logins_total",
                       "Mail logins by protocol and result: ok, refused or failed by a node, "
                       "or refused by the login shield before any node.",
                       MetricType::Counter);
  static constexpr const char* kLoginResults[] = {"ok", "refused", "failed", "shield"};
  static_assert(std::size(kLoginResults) == routing::kMailLoginResults + 1);
  for (size_t i = 0; i < n; ++i) {
    if (!is_mail(listeners[i].protocol)) continue;
    for (size_t r = 0; r < std::size(kLoginResults); ++r)
      logins.counter({{"listener", listeners[i].name},
                      {"protocol", protocol_name(listeners[i].protocol)},
                      {"result", kLoginResults[r]}},
                     sum(s, i, [r](const auto& t) { return t.mail_logins[r].get(); }));
  }

  FamilyBuilder requests(out, "passeur_listener_requests_total",
                         "Requests answered, by status class.", MetricType::Counter);
  for (size_t i = 0; i < n; ++i)
    for (size_t c = 0; c < 5; ++c)
      requests.counter({{"listener", listeners[i].name}, {"code", kStatusClasses[c]}},
                       sum(s, i, [c](const auto& t) { return t.requests[c].get(); }));

  FamilyBuilder protocols(out, "passeur_listener_requests_by_protocol_total",
                          "Requests answered, by the client's protocol version.",
                          MetricType::Counter);
  static constexpr const char* kVersions[] = {"HTTP/1.0", "HTTP/1.1", "HTTP/2"};
  for (size_t i = 0; i < n; ++i) {
    if (listeners[i].protocol != Protocol::Http) continue;
    for (size_t v = 0; v < 3; ++v)
      protocols.counter({{"listener", listeners[i].name}, {"protocol", kVersions[v]}},
                        sum(s, i, [v](const auto& t) { return t.requests_by_version[v].get(); }));
  }

  FamilyBuilder h2c(out, "passeur_listener_h2_connections_active",
                    "HTTP/2 client connections open now.", MetricType::Gauge);
  FamilyBuilder h2s(out, "passeur_listener_h2_streams_active", "HTTP/2 streams open now.",
                    MetricType::Gauge);
  for (size_t i = 0; i < n; ++i) {
    if (listeners[i].http2 == Http2::Off) continue;
    int64_t c = 0, st = 0;
    for (const WorkerContext* w : s.workers) {
      c += w->listener_traffic(i).h2_connections.get();
      st += w->listener_traffic(i).h2_streams.get();
    }
    h2c.gauge({{"listener", listeners[i].name}}, static_cast<double>(c));
    h2s.gauge({{"listener", listeners[i].name}}, static_cast<double>(st));
  }

  FamilyBuilder sessions(out, "passeur_listener_session_duration_seconds",
                         "Duration of TCP (mail) sessions, from accept to close.",
                         MetricType::Histogram);
  for (size_t i = 0; i < n; ++i) {
    if (!relays_sessions(listeners[i].protocol)) continue;
    HistogramSum h;
    for (const WorkerContext* w : s.workers) h.add(w->listener_traffic(i).session_time);
    sessions.histogram({{"listener", listeners[i].name}}, h,
                       routing::SessionHistogram::bounds_ns());
  }

  FamilyBuilder refused(out, "passeur_listener_refused_connections_total",
                        "Connections closed at accept by the listener's access rule, by reason: "
                        "source, country, unknown_country.",
                        MetricType::Counter);
  for (size_t i = 0; i < n; ++i) {
    if (listeners[i].access.empty()) continue;
    for (size_t r = 1; r < routing::kRefusals; ++r)
      refused.counter({{"listener", listeners[i].name},
                       {"reason", std::string(routing::refusal_name(routing::Refusal(r)))}},
                      sum(s, i, [r](const auto& t) { return t.refused[r].get(); }));
  }

  // Only the countries seen: a series per country ever met, not 677 per listener.
  FamilyBuilder countries(out, "passeur_connections_by_country_total",
                          "Client connections by the client's country (ISO 3166 code, or "
                          "unknown), with a [geoip] database; refused ones included.",
                          MetricType::Counter);
  for (size_t i = 0; i < n; ++i)
    for (size_t c = 0; c < routing::kCountrySlots; ++c) {
      uint64_t v = sum(s, i, [c](const auto& t) { return t.countries[c].get(); });
      if (v == 0) continue;
      countries.counter({{"listener", listeners[i].name},
                         {"country", std::string(routing::Country::from_index(c).label())}},
                        v);
    }

  FamilyBuilder in(out, "passeur_listener_received_bytes_total",
                   "Request bytes received from clients (heads and bodies).", MetricType::Counter);
  for (size_t i = 0; i < n; ++i)
    in.counter({{"listener", listeners[i].name}},
               sum(s, i, [](const auto& t) { return t.received_bytes.get(); }));
  FamilyBuilder sent(out, "passeur_listener_sent_bytes_total",
                     "Response bytes sent to clients (heads and bodies).", MetricType::Counter);
  for (size_t i = 0; i < n; ++i)
    sent.counter({{"listener", listeners[i].name}},
                 sum(s, i, [](const auto& t) { return t.sent_bytes.get(); }));
}

}  // namespace proxy::metrics
