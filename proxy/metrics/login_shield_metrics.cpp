// The login shield's families: failures counted, delays and refusals by the dimension that
// decided, successes, and its table (entries, size, evictions).
#include "proxy/metrics/exposition.h"
#include "proxy/metrics/family_builder.h"

namespace proxy::metrics {

void collect_login_shield(const Sources& s, std::vector<prometheus::MetricFamily>& out) {
  if (!s.login_shield) return;
  using prometheus::MetricType;
  const routing::ShieldStats st = s.login_shield->stats();
  FamilyBuilder failures(out, "passeur_login_shield_failures_total",
                         "Failed logins counted by the login shield, per dimension.",
                         MetricType::Counter);
  FamilyBuilder delays(out, "passeur_login_shield_delays_total",
                       "Logins slowed down by the login shield, by the dimension that decided.",
                       MetricType::Counter);
  FamilyBuilder refusals(out, "passeur_login_shield_refusals_total",
                         "Logins refused by the login shield, by the dimension that decided.",
                         MetricType::Counter);
  for (size_t i = 0; i < routing::kShieldDimensions; ++i) {
    const auto name = routing::shield_dimension_name(static_cast<routing::ShieldDimension>(i));
    failures.counter({{"dimension", name}}, static_cast<double>(st.failures[i]));
    delays.counter({{"dimension", name}}, static_cast<double>(st.delays[i]));
    refusals.counter({{"dimension", name}}, static_cast<double>(st.refusals[i]));
  }
  FamilyBuilder(out, "passeur_login_shield_successes_total",
                "Successful logins recorded by the login shield (they reset the address's and "
                "the user's failures).",
                MetricType::Counter)
      .counter({}, static_cast<double>(st.successes));
  FamilyBuilder(out, "passeur_login_shield_entries",
                "Entries held in the login shield's table (one per key and dimension).",
                MetricType::Gauge)
      .gauge({}, static_cast<double>(st.entries));
  FamilyBuilder(out, "passeur_login_shield_table_size",
                "The most entries the login shield's table holds ([login_shield] table_size).",
                MetricType::Gauge)
      .gauge({}, static_cast<double>(st.capacity));
  FamilyBuilder(out, "passeur_login_shield_evictions_total",
                "Entries dropped from the login shield's full table to make room for new keys.",
                MetricType::Counter)
      .counter({}, static_cast<double>(st.evictions));
}

}  // namespace proxy::metrics
