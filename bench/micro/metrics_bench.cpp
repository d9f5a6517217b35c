// The cost of metrics: what one request adds on the hot path (the counting a session does when
// a request ends), and what one scrape of /metrics costs on the control thread.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>

#include "proxy/listener_traffic.h"
#include "proxy/metrics/exposition.h"
#include "routing/node.h"

namespace {

using namespace std::chrono;

// Listener and node counters, and both latency histograms, as a session updates them.
void BM_CountOneRequest(benchmark::State& state) {
  routing::Node node(routing::NodeSettings{"node1", "10.0.0.11:8080", 1}, 2);
  proxy::ListenerTraffic listener;
  nanoseconds header(350'000), total(420'000);
  for (auto _ : state) {
    const size_t code = routing::status_class(200);
    listener.requests[code].add();
    listener.received_bytes.add(180);
    listener.sent_bytes.add(3250);
    routing::NodeTraffic& t = node.traffic(1);
    t.responses[code].add();
    t.received_bytes.add(3250);
    t.sent_bytes.add(240);
    t.header_time.observe(header);
    t.total_time.observe(total);
    benchmark::DoNotOptimize(&t);
    header += nanoseconds(997);  // walk the buckets a little
    total += nanoseconds(1009);
  }
}
BENCHMARK(BM_CountOneRequest);

// A co-op's edge: 5 pools of 3 nodes, 2 workers, no listeners (those need running workers).
void BM_ScrapeCoopEdge(benchmark::State& state) {
  proxy::Config c;
  for (int p = 0; p < 5; ++p) {
    routing::PoolSettings ps;
    ps.name = "pool" + std::to_string(p);
    for (int n = 0; n < 3; ++n)
      ps.nodes.push_back({"node" + std::to_string(n),
                          "10.0.0.1" + std::to_string(n) + ":808" + std::to_string(p), 1});
    c.pools.push_back(ps);
  }
  proxy::metrics::ReloadStats reloads;
  proxy::metrics::Sources s{.snapshot = std::make_shared<const proxy::Snapshot>(c, nullptr, 2),
                            .reloads = &reloads};
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = proxy::metrics::render(s);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ScrapeCoopEdge)->Unit(benchmark::kMicrosecond);

}  // namespace
