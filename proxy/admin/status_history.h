// The status page's memory: a TrafficHistory per node of the running config and per listener,
// sampled together every TrafficHistory::kInterval on the control thread. A node that a reload
// keeps keeps its history; a node that left the config loses it. About 1.5 KiB per node.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "proxy/admin/traffic_history.h"
#include "proxy/snapshot.h"
#include "routing/node.h"

namespace proxy::admin {

class StatusHistory {
 public:
  // A node's cumulative counts now, summed over its workers: responses, and the latency of
  // their heads (routing::NodeTraffic::header_time, as passeur_node_response_header_duration).
  static TrafficCounts counts(const routing::Node& node);

  // Samples every node of `snapshot` and each listener's cumulative counts (in the order of
  // the config's listeners) at `now`.
  void sample(routing::Clock::time_point now, const Snapshot& snapshot,
              std::span<const TrafficCounts> listeners);
  // Samples taken so far: the sequence number of the newest sparkline point.
  uint64_t samples() const { return samples_; }
  // Null for a node not sampled yet.
  const TrafficHistory* node(const routing::Node& node) const;
  const TrafficHistory* listener(size_t i) const;

 private:
  struct Entry {
    std::weak_ptr<const routing::Node> alive;  // the same object, not one at the same address
    TrafficHistory history;
  };
  std::unordered_map<const routing::Node*, Entry> nodes_;
  std::vector<TrafficHistory> listeners_;
  uint64_t samples_ = 0;
};

}  // namespace proxy::admin
