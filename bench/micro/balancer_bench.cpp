// Node selection: one pick per iteration, its lease released at once (as a short request).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "routing/balancer.h"
#include "routing/node.h"
#include "routing/random.h"
#include "routing/settings.h"

namespace {

using namespace routing;

// `count` nodes with mixed weights and some background load held for the whole run; one in
// ten is down, so the balancers meet unusable nodes as they would during a rolling restart.
struct Pool {
  explicit Pool(size_t count, bool loaded) {
    for (size_t i = 0; i < count; ++i) {
      NodeSettings s{.name = "node" + std::to_string(i),
                     .address = "10.0.0." + std::to_string(i) + ":8080",
                     .weight = static_cast<uint32_t>(1 + i % 3)};
      owned.push_back(std::make_unique<Node>(s));
      raw.push_back(owned.back().get());
      if (count > 3 && i % 10 == 9) raw.back()->set_health(Health::Down);
      if (loaded)
        for (size_t k = 0; k < (i * 7) % 5; ++k) held.emplace_back(raw.back());
    }
  }
  std::vector<std::unique_ptr<Node>> owned;
  std::vector<Node*> raw;
  std::vector<NodeLease> held;
};

void pick_loop(benchmark::State& state, Balancer& balancer, const Pool& pool) {
  FastRandom random(0x5eed);
  const PickContext ctx{random};
  for (auto _ : state) {
    NodeLease lease = balancer.pick(pool.raw, ctx);
    benchmark::DoNotOptimize(lease.node());
  }
  state.SetItemsProcessed(state.iterations());
}

// range(0): nodes; range(1): 1 when the nodes carry background load (fewer ties).
void BM_LeastLoadedPick(benchmark::State& state) {
  Pool pool(static_cast<size_t>(state.range(0)), state.range(1) != 0);
  LeastLoadedBalancer balancer;
  pick_loop(state, balancer, pool);
}

void BM_RoundRobinPick(benchmark::State& state) {
  Pool pool(static_cast<size_t>(state.range(0)), false);
  RoundRobinBalancer balancer(pool.raw);
  pick_loop(state, balancer, pool);
}

BENCHMARK(BM_LeastLoadedPick)->ArgNames({"nodes", "loaded"})->ArgsProduct({{3, 100}, {0, 1}});
BENCHMARK(BM_RoundRobinPick)->ArgName("nodes")->Arg(3)->Arg(100);

}  // namespace
