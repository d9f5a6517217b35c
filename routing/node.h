// One backend node of a pool: its settings, its shared load counter and its state.
// Nodes are shared by every worker and survive config reloads that keep them (same pool and
// address), so their load is counted across the whole process.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "routing/settings.h"

namespace routing {

enum class Health : uint8_t { Down, Starting, Up };            // set by health checks
enum class Admin : uint8_t { Active, Draining, Maintenance };  // set by operators

class Node {
 public:
  explicit Node(NodeSettings settings) : settings_(std::move(settings)) {}
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const NodeSettings& settings() const { return settings_; }
  const std::string& name() const { return settings_.name; }
  uint32_t weight() const { return weight_.load(std::memory_order_relaxed); }
  void set_weight(uint32_t w) { weight_.store(w ? w : 1, std::memory_order_relaxed); }

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

  // Requests (or connections) currently held on this node, all workers together.
  uint32_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  friend class NodeLease;
  NodeSettings settings_;
  std::atomic<uint32_t> weight_{settings_.weight ? settings_.weight : 1};
  std::atomic<Health> health_{Health::Up};
  std::atomic<Admin> admin_{Admin::Active};
  // Written on every request by every worker: keep it on a cache line of its own.
  alignas(64) std::atomic<uint32_t> in_flight_{0};
  char pad_[64 - sizeof(std::atomic<uint32_t>)] = {};
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
