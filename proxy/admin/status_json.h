// The status page's JSON, compact, for a refresh every two seconds: GET /status.json (the
// view, nodes as arrays whose fields "node_fields" names) and GET /status/history.json
// (sparkline points, only those after a sequence number the page already has).
#pragma once

#include <cstdint>
#include <string>

#include "proxy/admin/status_history.h"
#include "proxy/admin/status_view.h"
#include "proxy/snapshot.h"

namespace proxy::admin {

std::string status_json(const StatusView& view);

// {"seq": N, "interval": 10, "layout": "...", "pools": [[[rates], [p99s]] per node] per pool}:
// per node, its points after sample `after` (all it has when `after` is 0 or too old), oldest
// first; a p99 of null for an interval without requests.
std::string history_json(const Snapshot& snapshot, const StatusHistory& history,
                         const std::string& layout, uint64_t after);

}  // namespace proxy::admin
