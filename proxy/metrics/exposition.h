// GET /metrics: every family in the Prometheus text format, built at scrape time from the
// workers' own counters (summed), the nodes' state and checks, the certificates, the config
// reloads and the process. Runs on the control thread; reads the workers' counters with relaxed
// loads, never stopping them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "proxy/snapshot.h"
#include "routing/login_shield.h"
#include "tls/cert_store.h"

namespace proxy {
class WorkerContext;
}

namespace proxy::metrics {

// Kept by the server's reload(), on the control thread.
struct ReloadStats {
  std::atomic<uint64_t> success{0};
  std::atomic<uint64_t> failure{0};
  std::atomic<bool> last_ok{true};
  std::atomic<int64_t> last_success_unix{0};  // the start counts as the first success
};

struct Sources {
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<const WorkerContext*> workers;
  std::shared_ptr<const tls::CertStore> certs;  // null without TLS listeners
  const ReloadStats* reloads = nullptr;
  int64_t start_unix = 0;
  const routing::LoginShield* login_shield = nullptr;  // null: its families are left out
};

// The families, in a fixed order.
std::vector<prometheus::MetricFamily> collect(const Sources& s);
// collect() in the text exposition format (version 0.0.4).
std::string render(const Sources& s);

// Parts of collect(), one file each.
void collect_listeners(const Sources& s, std::vector<prometheus::MetricFamily>& out);
void collect_nodes(const Sources& s, std::vector<prometheus::MetricFamily>& out);
void collect_node_state(const Sources& s, std::vector<prometheus::MetricFamily>& out);
void collect_process(const Sources& s, std::vector<prometheus::MetricFamily>& out);
void collect_login_shield(const Sources& s, std::vector<prometheus::MetricFamily>& out);

}  // namespace proxy::metrics
