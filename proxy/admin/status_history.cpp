#include "proxy/admin/status_history.h"

namespace proxy::admin {

TrafficCounts StatusHistory::counts(const routing::Node& node) {
  TrafficCounts c;
  for (unsigned w = 0; w < node.workers(); ++w) {
    const routing::NodeTraffic& t = node.traffic(w);
    for (const auto& r : t.responses) c.requests += r.get();
    for (size_t i = 0; i < TrafficCounts::kBuckets; ++i) c.latency[i] += t.header_time.bucket(i);
  }
  return c;
}

void StatusHistory::sample(routing::Clock::time_point now, const Snapshot& snapshot,
                           std::span<const TrafficCounts> listeners) {
  std::unordered_map<const routing::Node*, Entry> next;
  for (const auto& pool : snapshot.pools()) {
    for (const auto& shared : pool->shared_nodes()) {
      const routing::Node* n = shared.get();
      auto old = nodes_.find(n);
      Entry e;
      if (old != nodes_.end() && old->second.alive.lock().get() == n) {
        e = std::move(old->second);
      } else {
        e.alive = shared;
      }
      e.history.sample(now, counts(*n));
      next.emplace(n, std::move(e));
    }
  }
  nodes_ = std::move(next);
  listeners_.resize(listeners.size());
  for (size_t i = 0; i < listeners.size(); ++i) listeners_[i].sample(now, listeners[i]);
  ++samples_;
}

const TrafficHistory* StatusHistory::node(const routing::Node& node) const {
  auto it = nodes_.find(&node);
  if (it == nodes_.end() || it->second.alive.lock().get() != &node) return nullptr;
  return &it->second.history;
}

const TrafficHistory* StatusHistory::listener(size_t i) const {
  return i < listeners_.size() ? &listeners_[i] : nullptr;
}

}  // namespace proxy::admin
