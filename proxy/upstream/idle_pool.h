// Idle keep-alive connections to nodes, per worker (no locking: one thread uses it). A
// connection is reused for later requests to the same node; idle ones are closed after the
// pool's idle_timeout, and at most max_idle are kept per node.
#pragma once

#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "proxy/upstream/connection.h"
#include "routing/node.h"

namespace proxy::upstream {

class IdlePool {
 public:
  // An idle connection to this node, or null.
  std::unique_ptr<Connection> take(const routing::Node* node);
  // Keeps a connection whose last response was complete and allowed keep-alive.
  void give_back(const routing::Node* node, std::unique_ptr<Connection> conn, uint32_t max_idle,
                 Clock::time_point now);
  // Closes connections idle for longer than their pool allows, and those of nodes for which
  // `keep(node)` is false (removed by a reload).
  template <class Keep>
  void sweep(Clock::time_point now, Keep&& keep_for) {
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto timeout = keep_for(it->first);
      auto& v = it->second;
      std::erase_if(v, [&](const auto& c) { return !timeout || now - c->idle_since > *timeout; });
      it = v.empty() ? idle_.erase(it) : std::next(it);
    }
  }
  // Closes the idle connections to one node.
  void drop(const routing::Node* node) { idle_.erase(node); }
  size_t idle_count() const;
  void clear() { idle_.clear(); }

 private:
  std::unordered_map<const routing::Node*, std::vector<std::unique_ptr<Connection>>> idle_;
};

}  // namespace proxy::upstream
