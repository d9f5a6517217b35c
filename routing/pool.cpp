#include "routing/pool.h"

#include <algorithm>

#include "routing/affinity.h"
#include "routing/rendezvous.h"

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

NodeLease Pool::pick(const PickContext& ctx) const {
  if (ctx.affine && takes_affine(*ctx.affine) &&
      std::find(ctx.exclude.begin(), ctx.exclude.end(), ctx.affine) == ctx.exclude.end())
    return NodeLease(ctx.affine);
  if (settings_.affinity == Affinity::Source && !ctx.affinity_key.empty()) {
    if (Node* n = rendezvous::best_usable(ctx.affinity_key, raw_, ctx.exclude)) return NodeLease(n);
  }
  return balancer_->pick(raw_, ctx);
}

Node* Pool::node_by_cookie(std::string_view value) const {
  if (value.empty()) return nullptr;
  for (Node* n : raw_)
    if (n->settings().cookie == value) return n;
  return nullptr;
}

}  // namespace routing
