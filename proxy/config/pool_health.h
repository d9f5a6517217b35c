// The health keys of a [pool.NAME] table: `check` (an inline table: the active check),
// `slow_start`, `drain_timeout`, `passive_failures` and `passive_5xx`.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "proxy/config/section.h"
#include "routing/settings.h"

namespace proxy::config::detail {

// Fills out.check and out.health from the pool's table; errors go where the other keys' do.
void read_pool_health(const Section& pool, Errors& errors, routing::PoolSettings& out);

// "200", "200-299" or an integer: an inclusive range of statuses in 100..599.
std::optional<std::pair<uint16_t, uint16_t>> parse_status_range(std::string_view text);

}  // namespace proxy::config::detail
