#include "proxy/health/passive.h"

#include <string>

#include "proxy/log.h"

namespace proxy::health {

void report_passive_failure(const routing::Pool& pool, routing::Node& node,
                            routing::PassiveResult result) {
  static const routing::SteadyClock clock;
  if (auto change = routing::observe_passive(node, result, pool.settings().health, clock))
    log_error("health: " + routing::describe(*change, pool.name()));
}

}  // namespace proxy::health
