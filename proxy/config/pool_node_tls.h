// A mail pool's TLS towards its nodes: `node_tls = "none" | "starttls" | "auto"`,
// `node_verify`, `node_ca_file` and `node_server_name`.
#pragma once

#include "proxy/config/section.h"
#include "routing/settings.h"

namespace proxy::config::detail {

// Reads the node_* TLS keys of a [pool.NAME]; node_verify, node_ca_file and node_server_name
// apply only when node_tls is not "none".
void read_pool_node_tls(const Section& s, routing::PoolSettings& out);

}  // namespace proxy::config::detail
