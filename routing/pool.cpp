#include "routing/pool.h"

namespace routing {

Pool::Pool(PoolSettings settings, const Pool* previous, unsigned workers)
    : settings_(std::move(settings)) {
  for (const NodeSettings& ns : settings_.nodes) {
    std::shared_ptr<Node> node;
    if (previous) {
      for (const auto& old : previous->nodes_) {
        if (old->settings().address == ns.address && old->settings().name == ns.name) {
          node = old;  // same node: keep its in-flight count and state
          node->set_weight(ns.weight);
          break;
        }
      }
    }
    if (!node) node = std::make_shared<Node>(ns, workers);
    nodes_.push_back(node);
    raw_.push_back(node.get());
  }
  balancer_ = make_balancer(settings_.balance, raw_);
}

}  // namespace routing
