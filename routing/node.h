// One backend node of a pool: its settings, its shared load counter and its state.
// Nodes are shared by every worker and survive config reloads that keep them (same pool and
// address), so their load is counted across the whole process.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "routing/affinity_count.h"
#include "routing/health_passive.h"
#include "routing/node_traffic.h"
#include "routing/settings.h"

namespace routing {

enum class Health : uint8_t { Down, Starting, Up };            // set by health checks
enum class Admin : uint8_t { Active, Draining, Maintenance };  // set by operators

class Node : public std::enable_shared_from_this<Node> {
 public:
  // `workers`: how many workers count traffic to it (one NodeTraffic each).
  explicit Node(NodeSettings settings, unsigned workers = 1)
      : settings_(std::move(settings)),
        workers_(workers ? workers : 1),
        traffic_(std::make_unique<NodeTraffic[]>(workers_)) {}
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const NodeSettings& settings() const { return settings_; }
  const std::string& name() const { return settings_.name; }
  uint32_t weight() const { return weight_.load(std::memory_order_relaxed); }
  void set_weight(uint32_t w) {
    std::lock_guard lock(weight_write_);
    weight_.store(w ? w : 1, std::memory_order_relaxed);
    update_effective_weight();
  }

  // The weight to compare loads with: weight() in 1/kFullRamp units, lowered while the node
  // ramps up after coming back (slow start, see slow_start.h and node_state.h). Kept computed:
  // one load, as cheap as weight().
  static constexpr uint32_t kFullRamp = 256;
  static constexpr uint32_t kMaxWeight = (1u << 24) - 1;  // above counts as this: fits 32 bits
  uint32_t effective_weight() const { return effective_weight_.load(std::memory_order_relaxed); }
  uint32_t ramp() const { return ramp_.load(std::memory_order_relaxed); }  // 1..kFullRamp
  void set_ramp(uint32_t r) {
    std::lock_guard lock(weight_write_);
    ramp_.store(std::clamp(r, 1u, kFullRamp), std::memory_order_relaxed);
    update_effective_weight();
  }

  // The one predicate every balancer calls: does this node take new work?
  bool usable() const {
    Health h = health_.load(std::memory_order_relaxed);
    return (h == Health::Up || h == Health::Starting) &&
           admin_.load(std::memory_order_relaxed) == Admin::Active;
  }
  Health health() const { return health_.load(std::memory_order_relaxed); }
  Admin admin() const { return admin_.load(std::memory_order_relaxed); }
  void set_health(Health h) { health_.store(h, std::memory_order_relaxed); }
  void set_admin(Admin a) { admin_.store(a, std::memory_order_relaxed); }
  // Set, and learn what it was: node_state.h's transitions count a change only when there is one.
  Health exchange_health(Health h) { return health_.exchange(h, std::memory_order_relaxed); }
  Admin exchange_admin(Admin a) { return admin_.exchange(a, std::memory_order_relaxed); }

  // Kept by node_state.h's transitions; read from any thread (admin API, /metrics).
  struct StateStats {
    std::atomic<uint64_t> health_changes{0};
    std::atomic<uint64_t> admin_changes{0};
    std::atomic<uint64_t> downs{0};        // health changes to Down, whatever the cause
    std::atomic<int64_t> health_since{0};  // steady clock, ns since its epoch; 0 = never changed
    std::atomic<int64_t> admin_since{0};
    std::atomic<std::shared_ptr<const std::string>> last_cause;  // of the last change of either
  };
  StateStats& state_stats() { return stats_; }
  const StateStats& state_stats() const { return stats_; }

  // Failures in a row seen on live traffic (passive checks).
  PassiveCounter& passive() { return passive_; }
  const PassiveCounter& passive() const { return passive_; }

  // Worker `worker`'s counters of traffic to this node; only that worker writes them. Counting
  // does not change the node: callable on a const one.
  NodeTraffic& traffic(unsigned worker) const { return traffic_[worker < workers_ ? worker : 0]; }
  unsigned workers() const { return workers_; }
  CheckStats& checks() { return checks_; }
  const CheckStats& checks() const { return checks_; }

  // Requests sent here by an affinity cookie (HTTP pools with affinity = "cookie").
  AffinityCount& affine() const { return affine_; }

  // Requests (or connections) currently held on this node, all workers together.
  uint32_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  friend class NodeLease;
  NodeSettings settings_;
  unsigned workers_;
  std::unique_ptr<NodeTraffic[]> traffic_;
  CheckStats checks_;
  std::atomic<uint32_t> weight_{settings_.weight ? settings_.weight : 1};
  std::atomic<uint32_t> ramp_{kFullRamp};
  std::atomic<uint32_t> effective_weight_{std::min(weight_.load(), kMaxWeight) * kFullRamp};
  std::atomic<Health> health_{Health::Up};
  std::atomic<Admin> admin_{Admin::Active};
  // Written on every request by every worker: keep it on a cache line of its own.
  alignas(64) std::atomic<uint32_t> in_flight_{0};
  char pad_[64 - sizeof(std::atomic<uint32_t>)] = {};
  // Read on every answer from the node, written on failures only.
  PassiveCounter passive_;
  StateStats stats_;
  mutable AffinityCount affine_;
  // Weight and ramp are written rarely (reload, checker) and from two threads: one at a time,
  // so the effective weight always matches the last of both.
  std::mutex weight_write_;
  void update_effective_weight() {
    effective_weight_.store(std::min(weight(), kMaxWeight) * ramp(), std::memory_order_relaxed);
  }
};

// Counts one unit of load on a node while it is held. Move-only.
class NodeLease {
 public:
  NodeLease() = default;
  explicit NodeLease(Node* node) : node_(node) {
    if (node_) node_->in_flight_.fetch_add(1, std::memory_order_relaxed);
  }
  NodeLease(NodeLease&& o) noexcept : node_(o.node_) { o.node_ = nullptr; }
  NodeLease& operator=(NodeLease&& o) noexcept {
    if (this != &o) {
      release();
      node_ = o.node_;
      o.node_ = nullptr;
    }
    return *this;
  }
  NodeLease(const NodeLease&) = delete;
  NodeLease& operator=(const NodeLease&) = delete;
  ~NodeLease() { release(); }

  Node* node() const { return node_; }
  explicit operator bool() const { return node_ != nullptr; }
  void release() {
    if (node_) node_->in_flight_.fetch_sub(1, std::memory_order_relaxed);
    node_ = nullptr;
  }

 private:
  Node* node_ = nullptr;
};

}  // namespace routing
