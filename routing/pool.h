// A pool of nodes with its balancer. Built once per config snapshot; nodes are shared between
// snapshots when a reload keeps them, so in-flight counts and state carry over.
#pragma once

#include <memory>
#include <vector>

#include "routing/balancer.h"
#include "routing/node.h"
#include "routing/settings.h"

namespace routing {

class Pool {
 public:
  // `previous` (may be null): the pool of the same name in the snapshot being replaced.
  // `workers`: how many workers count traffic (see Node::traffic()).
  Pool(PoolSettings settings, const Pool* previous, unsigned workers = 1);

  const PoolSettings& settings() const { return settings_; }
  const std::string& name() const { return settings_.name; }
  std::span<Node* const> nodes() const { return raw_; }
  const std::vector<std::shared_ptr<Node>>& shared_nodes() const { return nodes_; }

  NodeLease pick(const PickContext& ctx) const { return balancer_->pick(raw_, ctx); }

 private:
  PoolSettings settings_;
  std::vector<std::shared_ptr<Node>> nodes_;
  std::vector<Node*> raw_;
  std::unique_ptr<Balancer> balancer_;
};

}  // namespace routing
