// Node state on the request path: the usable() predicate, the effective weight, the passive
// check of a successful answer, and least-loaded picks reading them, alone and while a checker
// thread keeps writing node state as a slow start would.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "routing/balancer.h"
#include "routing/health_counter.h"
#include "routing/health_policy.h"
#include "routing/node.h"
#include "routing/node_state.h"
#include "routing/random.h"

namespace {

using namespace routing;

struct Fleet {
  explicit Fleet(size_t count) {
    for (size_t i = 0; i < count; ++i) {
      owned.push_back(
          std::make_unique<Node>(NodeSettings{.name = "node" + std::to_string(i),
                                              .address = "10.0.0." + std::to_string(i) + ":8080",
                                              .weight = static_cast<uint32_t>(1 + i % 3)}));
      raw.push_back(owned.back().get());
      if (count > 3 && i % 10 == 9) raw.back()->set_health(Health::Down);
      for (size_t k = 0; k < (i * 7) % 5; ++k) held.emplace_back(raw.back());
    }
  }
  std::vector<std::unique_ptr<Node>> owned;
  std::vector<Node*> raw;
  std::vector<NodeLease> held;
};

// Writes a node's state a thousand times a second, as a checker ramping a node would (far more
// often than a real one).
class BusyChecker {
 public:
  explicit BusyChecker(Node* node) : node_(node) {
    if (!node_) return;
    thread_ = std::thread([this] {
      uint32_t r = 1;
      while (!stop_.load(std::memory_order_relaxed)) {
        node_->set_ramp(r = r % Node::kFullRamp + 1);
        node_->set_health(r % 2 ? Health::Starting : Health::Up);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      node_->set_health(Health::Up);
    });
  }
  ~BusyChecker() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  Node* node_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void BM_NodeUsable(benchmark::State& state) {
  Node node(NodeSettings{.name = "n", .address = "10.0.0.1:80"});
  for (auto _ : state) {
    benchmark::DoNotOptimize(&node);
    benchmark::DoNotOptimize(node.usable());
  }
}

void BM_NodeEffectiveWeight(benchmark::State& state) {
  Node node(NodeSettings{.name = "n", .address = "10.0.0.1:80", .weight = 3});
  node.set_ramp(100);
  for (auto _ : state) {
    benchmark::DoNotOptimize(&node);
    benchmark::DoNotOptimize(node.effective_weight());
  }
}

// What a worker does after each answer when passive checks are on: one load.
void BM_ObservePassiveSuccess(benchmark::State& state) {
  Node node(NodeSettings{.name = "n", .address = "10.0.0.1:80"});
  HealthPolicy policy;
  policy.passive_failures = 3;
  SteadyClock clock;
  for (auto _ : state) {
    benchmark::DoNotOptimize(&node);
    auto change = observe_passive(node, PassiveResult::Success, policy, clock);
    benchmark::DoNotOptimize(change);
  }
}

void BM_HealthCounterObserve(benchmark::State& state) {
  HealthCounter counter(2, 3, Health::Up);
  uint32_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(counter.observe(++i % 4 != 0));
}

// A least-loaded full scan written three ways, to price the state reads: without any
// predicate, with usable(), and with usable() and the slow-start weight.
enum class Reads { WeightOnly, Usable, UsableEffectiveWeight };

template <Reads kReads>
Node* scan(const std::vector<Node*>& nodes) {
  Node* best = nullptr;
  for (Node* n : nodes) {
    if (kReads != Reads::WeightOnly && !n->usable()) continue;
    if (!best) {
      best = n;
      continue;
    }
    uint32_t wn = kReads == Reads::UsableEffectiveWeight ? n->effective_weight() : n->weight();
    uint32_t wb =
        kReads == Reads::UsableEffectiveWeight ? best->effective_weight() : best->weight();
    if (uint64_t(n->in_flight() + 1) * wb < uint64_t(best->in_flight() + 1) * wn) best = n;
  }
  return best;
}

template <Reads kReads>
void BM_Scan(benchmark::State& state) {
  Fleet fleet(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    NodeLease lease(scan<kReads>(fleet.raw));
    benchmark::DoNotOptimize(lease.node());
  }
  state.SetItemsProcessed(state.iterations());
}

// The real balancer; range(1) = 1 runs a checker thread writing one node's state meanwhile.
void BM_LeastLoadedPickWithChecker(benchmark::State& state) {
  Fleet fleet(static_cast<size_t>(state.range(0)));
  BusyChecker checker(state.range(1) ? fleet.raw.front() : nullptr);
  LeastLoadedBalancer balancer;
  FastRandom random(0x5eed);
  const PickContext ctx{random};
  for (auto _ : state) {
    NodeLease lease = balancer.pick(fleet.raw, ctx);
    benchmark::DoNotOptimize(lease.node());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_NodeUsable);
BENCHMARK(BM_NodeEffectiveWeight);
BENCHMARK(BM_ObservePassiveSuccess);
BENCHMARK(BM_HealthCounterObserve);
BENCHMARK(BM_Scan<Reads::WeightOnly>)->ArgName("nodes")->Arg(3)->Arg(16);
BENCHMARK(BM_Scan<Reads::Usable>)->ArgName("nodes")->Arg(3)->Arg(16);
BENCHMARK(BM_Scan<Reads::UsableEffectiveWeight>)->ArgName("nodes")->Arg(3)->Arg(16);
BENCHMARK(BM_LeastLoadedPickWithChecker)
    ->ArgNames({"nodes", "checker"})
    ->ArgsProduct({{3, 100}, {0, 1}})
    ->UseRealTime();

}  // namespace
