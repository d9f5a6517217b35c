// A pool of nodes with its balancer. Built once per config snapshot; nodes are shared between
// snapshots when a reload keeps them, so in-flight counts and state carry over.
#pragma once

#include <memory>
#include <string_view>
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

  // A node for new work: the one affinity asks for (ctx.affine, or the rendezvous choice for
  // ctx.affinity_key in a pool with affinity = "source") when it may take it, else the
  // balancer's choice. An empty lease when no node is usable.
  NodeLease pick(const PickContext& ctx) const;

  // The node whose affinity cookie value is `value`; null when none is.
  Node* node_by_cookie(std::string_view value) const;

 private:
  PoolSettings settings_;
  std::vector<std::shared_ptr<Node>> nodes_;
  std::vector<Node*> raw_;
  std::unique_ptr<Balancer> balancer_;
};

}  // namespace routing
