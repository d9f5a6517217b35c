// Passive health checks: what live traffic learns about a node, reported from the request path
// of any worker. `passive_failures` failures in a row (connect failures, and 5xx answers when
// the pool has passive_5xx) take the node down at once; its active check brings it back.
#pragma once

#include "routing/node_state.h"
#include "routing/pool.h"

namespace proxy::health {

// Out of line: counts a failure, and logs the change when it takes the node down.
void report_passive_failure(const routing::Pool& pool, routing::Node& node,
                            routing::PassiveResult result);

// Call once per request (or connection) that reached a node or failed to: Success for an
// answer below 500, ServerError for a 5xx answer, ConnectFailure when the connect (or TLS
// handshake) to the node failed. A success costs a load or two and writes nothing unless a
// failure run was under way.
inline void report_passive(const routing::Pool& pool, routing::Node& node,
                           routing::PassiveResult result) {
  const routing::HealthPolicy& policy = pool.settings().health;
  if (policy.passive_failures == 0) return;
  if (result == routing::PassiveResult::Success ||
      (result == routing::PassiveResult::ServerError && !policy.passive_5xx)) {
    node.passive().success();
    return;
  }
  report_passive_failure(pool, node, result);
}

}  // namespace proxy::health
