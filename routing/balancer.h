// Choosing a node of a pool for new work. A balancer sees the pool's nodes, asks each one
// usable(), and returns a lease that counts the load while it is held.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "routing/node.h"
#include "routing/random.h"
#include "routing/settings.h"

namespace routing {

struct PickContext {
  Random& random;
  std::span<const Node* const> exclude = {};  // nodes already tried for this request
  // Affinity (Pool::pick): the node the client's affinity cookie names, taken when it still
  // takes its clients (routing/affinity.h) and was not tried yet; and the key of source
  // affinity (the client's address), hashed over the usable nodes when the pool says so.
  Node* affine = nullptr;
  std::string_view affinity_key = {};
};

class Balancer {
 public:
  virtual ~Balancer() = default;
  // An empty lease when no node is usable. Safe to call from every worker at once.
  virtual NodeLease pick(std::span<Node* const> nodes, const PickContext& ctx) = 0;
};

// Weighted least in-flight: the node with the lowest (in_flight + 1) / weight wins, ties are
// broken at random. Pools larger than kFullScanLimit use the power of two choices: two random
// usable nodes, the less loaded wins (Mitzenmacher), so a pick stays O(1).
class LeastLoadedBalancer final : public Balancer {
 public:
  static constexpr size_t kFullScanLimit = 16;
  NodeLease pick(std::span<Node* const> nodes, const PickContext& ctx) override;
};

// Smooth weighted round robin (the interleaving nginx uses): a schedule computed once from the
// weights, walked with one shared counter; unusable nodes are skipped.
class RoundRobinBalancer final : public Balancer {
 public:
  explicit RoundRobinBalancer(std::span<Node* const> nodes);
  NodeLease pick(std::span<Node* const> nodes, const PickContext& ctx) override;

 private:
  std::vector<uint32_t> schedule_;
  std::atomic<uint64_t> next_{0};
};

std::unique_ptr<Balancer> make_balancer(Balance kind, std::span<Node* const> nodes);

}  // namespace routing
