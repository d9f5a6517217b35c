// A pool's session affinity keys: `affinity = "none" | "cookie" | "source"`,
// `affinity_cookie` (the cookie's name), and a node's `cookie` (the value naming it).
#pragma once

#include <string>

#include "proxy/config/section.h"
#include "routing/settings.h"

namespace proxy::config::detail {

// Reads `affinity`, `affinity_cookie`, `balance_factor` and `user_key` of a [pool.NAME].
void read_pool_affinity(const Section& s, routing::PoolSettings& out);

// Reads `balance_factor` (a number >= 1.0) and `user_key` ("whole" or "local-part"), used by
// user affinity.
void read_pool_user_keys(const Section& s, routing::PoolSettings& out);

// Reads a node table's `cookie` (only in a pool with affinity = "cookie"), and gives every node
// of such a pool its value: the key's, else the one derived from the pool's and node's names.
// `cookies` reports two nodes of one pool with the same value.
void read_node_cookie(const Section& s, const routing::PoolSettings& pool,
                      FirstSeen<std::string>& cookies, routing::NodeSettings& out);

}  // namespace proxy::config::detail
