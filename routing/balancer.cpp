#include "routing/balancer.h"

#include <algorithm>

namespace routing {
namespace {

bool excluded(const Node* n, const PickContext& ctx) {
  return std::find(ctx.exclude.begin(), ctx.exclude.end(), n) != ctx.exclude.end();
}

bool candidate(const Node* n, const PickContext& ctx) {
  return n->usable() && !excluded(n, ctx);
}

// a is less loaded than b when (a.in_flight + 1) / a.weight < (b.in_flight + 1) / b.weight,
// with the weights lowered while a node ramps up (slow start): effective_weight() is below
// 2^32 and in_flight + 1 at most 2^32, so the products fit 64 bits. Compared by
// cross-multiplication: no division, exact.
int compare_load(const Node* a, const Node* b) {
  uint64_t la = uint64_t(a->in_flight()) + 1;
  uint64_t lb = uint64_t(b->in_flight()) + 1;
  la *= b->effective_weight();
  lb *= a->effective_weight();
  return la < lb ? -1 : (la > lb ? 1 : 0);
}

// Round robin and slow start: a node ramping up takes its turn with probability ramp / full
// ramp, and leaves it to the next nodes otherwise. A node at full ramp costs no draw.
bool takes_turn(const Node* n, const PickContext& ctx) {
  const uint32_t ramp = n->ramp();
  return ramp >= Node::kFullRamp || ctx.random.below(Node::kFullRamp) < ramp;
}

NodeLease full_scan(std::span<Node* const> nodes, const PickContext& ctx) {
  Node* best = nullptr;
  uint32_t ties = 0;
  for (Node* n : nodes) {
    if (!candidate(n, ctx)) continue;
    int c = best ? compare_load(n, best) : -1;
    if (c < 0) {
      best = n;
      ties = 1;
    } else if (c == 0 && ctx.random.below(++ties) == 0) {
      best = n;  // reservoir sampling: each tied node is kept with probability 1/ties
    }
  }
  return NodeLease(best);
}

}  // namespace

NodeLease LeastLoadedBalancer::pick(std::span<Node* const> nodes, const PickContext& ctx) {
  if (nodes.size() <= kFullScanLimit) return full_scan(nodes, ctx);
  // Power of two choices. A few draws find usable nodes in a mostly healthy pool; a pool with
  // many unusable nodes falls back to the full scan.
  const auto n = static_cast<uint32_t>(nodes.size());
  Node* first = nullptr;
  for (int attempt = 0; attempt < 8; ++attempt) {
    Node* c = nodes[ctx.random.below(n)];
    if (!candidate(c, ctx) || c == first) continue;
    if (!first) {
      first = c;
      continue;
    }
    int cmp = compare_load(c, first);
    return NodeLease(cmp < 0 || (cmp == 0 && ctx.random.below(2)) ? c : first);
  }
  return full_scan(nodes, ctx);
}

RoundRobinBalancer::RoundRobinBalancer(std::span<Node* const> nodes) {
  // Smooth weighted round robin: each step every node gains its weight, the largest current
  // value is chosen and loses the total. Yields e.g. a a b a for weights 3:1, well interleaved.
  std::vector<int64_t> current(nodes.size(), 0);
  int64_t total = 0;
  for (Node* n : nodes) total += n->weight();
  for (int64_t step = 0; step < total; ++step) {
    size_t best = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
      current[i] += nodes[i]->weight();
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    schedule_.push_back(static_cast<uint32_t>(best));
  }
}

NodeLease RoundRobinBalancer::pick(std::span<Node* const> nodes, const PickContext& ctx) {
  if (schedule_.empty()) return {};
  const uint64_t start = next_.fetch_add(1, std::memory_order_relaxed);
  Node* ramping = nullptr;  // the first usable node that let its turn pass
  for (size_t i = 0; i < schedule_.size(); ++i) {
    uint32_t idx = schedule_[(start + i) % schedule_.size()];
    if (idx >= nodes.size() || !candidate(nodes[idx], ctx)) continue;
    if (!takes_turn(nodes[idx], ctx)) {
      if (!ramping) ramping = nodes[idx];
      continue;
    }
    // The skipped slots are used up too: an unusable node's turns are shared by all the others
    // by weight, instead of all going to the node after it in the schedule.
    if (i) next_.fetch_add(i, std::memory_order_relaxed);
    return NodeLease(nodes[idx]);
  }
  return NodeLease(ramping);  // only ramping nodes are usable: one of them rather than none
}

std::unique_ptr<Balancer> make_balancer(Balance kind, std::span<Node* const> nodes) {
  if (kind == Balance::RoundRobin) return std::make_unique<RoundRobinBalancer>(nodes);
  return std::make_unique<LeastLoadedBalancer>();
}

}  // namespace routing
