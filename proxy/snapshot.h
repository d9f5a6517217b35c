// An immutable view of the configuration that the data path reads: routes, pools and listener
// settings. A reload builds a new one and swaps it in; requests keep the one they started with.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/config/settings.h"
#include "routing/pool.h"
#include "routing/route_table.h"
#include "tls/client_tls.h"

namespace proxy {

class Snapshot {
 public:
  // `previous` (may be null) lends its nodes to pools that keep them. `workers`: how many
  // workers count traffic to the nodes.
  Snapshot(Config config, const Snapshot* previous, unsigned workers = 1);

  const Config& config() const { return config_; }
  const routing::RouteTable& routes() const { return routes_; }
  const routing::RouteSettings& route(size_t i) const { return config_.routes[i]; }
  routing::Pool& route_pool(size_t i) const { return *route_pools_[i]; }
  const routing::Pool* find_pool(std::string_view name) const;
  const std::vector<std::unique_ptr<routing::Pool>>& pools() const { return pools_; }
  const ListenerSettings* listener(std::string_view name) const;
  bool has_node(const routing::Node* node) const;
  // The TLS client context of a pool that re-encrypts to its nodes, else null.
  const tls::ClientTls* client_tls(const routing::Pool& pool) const;
  // The TLS client context for STARTTLS to the nodes of a mail pool with node_tls, else null.
  const tls::ClientTls* node_tls(const routing::Pool& pool) const;

 private:
  Config config_;
  routing::RouteTable routes_;
  std::vector<std::unique_ptr<routing::Pool>> pools_;
  std::vector<routing::Pool*> route_pools_;
  std::vector<std::pair<const routing::Pool*, tls::ClientTls>> client_tls_;
  std::vector<std::pair<const routing::Pool*, tls::ClientTls>> node_tls_;
};

}  // namespace proxy
