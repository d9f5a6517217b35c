#include "proxy/snapshot.h"

#include <stdexcept>

#include "proxy/config/address.h"

namespace proxy {

Snapshot::Snapshot(Config config, const Snapshot* previous, unsigned workers)
    : config_(std::move(config)), routes_(config_.routes) {
  // Addresses are resolved here, once per snapshot: connects and probes never parse text.
  for (auto& ps : config_.pools) {
    for (auto& ns : ps.nodes)
      if (!ns.resolved()) config::resolve_node(ns);
    config::resolve_check(ps.check);
  }
  for (const auto& ps : config_.pools) {
    const routing::Pool* old = previous ? previous->find_pool(ps.name) : nullptr;
    pools_.push_back(std::make_unique<routing::Pool>(ps, old, workers));
    if (ps.tls) {
      std::string error;
      auto ctx = tls::ClientTls::make(ps.tls_verify, ps.tls_ca, error);
      if (!ctx) throw std::runtime_error("pool \"" + ps.name + "\": " + error);
      client_tls_.emplace_back(pools_.back().get(), std::move(ctx));
    }
    if (ps.node_tls != routing::NodeTls::None) {
      std::string error;
      auto ctx = tls::ClientTls::make(ps.node_verify, ps.node_ca_file, error);
      if (!ctx) throw std::runtime_error("pool \"" + ps.name + "\": node_ca_file: " + error);
      node_tls_.emplace_back(pools_.back().get(), std::move(ctx));
    }
  }
  for (const auto& r : config_.routes) {
    routing::Pool* found = nullptr;
    for (auto& p : pools_)
      if (p->name() == r.pool) found = p.get();
    if (!found) throw std::runtime_error("route names missing pool \"" + r.pool + "\"");
    route_pools_.push_back(found);
  }
}

const routing::Pool* Snapshot::find_pool(std::string_view name) const {
  for (const auto& p : pools_)
    if (p->name() == name) return p.get();
  return nullptr;
}

const ListenerSettings* Snapshot::listener(std::string_view name) const {
  for (const auto& l : config_.listeners)
    if (l.name == name) return &l;
  return nullptr;
}

bool Snapshot::has_node(const routing::Node* node) const {
  for (const auto& p : pools_)
    for (const routing::Node* n : p->nodes())
      if (n == node) return true;
  return false;
}

}  // namespace proxy

namespace proxy {

const tls::ClientTls* Snapshot::client_tls(const routing::Pool& pool) const {
  for (const auto& [p, ctx] : client_tls_)
    if (p == &pool) return &ctx;
  return nullptr;
}

const tls::ClientTls* Snapshot::node_tls(const routing::Pool& pool) const {
  for (const auto& [p, ctx] : node_tls_)
    if (p == &pool) return &ctx;
  return nullptr;
}

}  // namespace proxy
