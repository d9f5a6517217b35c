// Durations and sizes as written in the configuration file.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace proxy::config {

// "250ms", "10s", "5m", "1h", or a plain "0". A non-negative integer followed by one of the
// units ms, s, m, h; no sign, no fraction, no spaces. nullopt on anything else or on overflow.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// "0", "512" (bytes), "64KiB", "64MiB", "2GiB". A non-negative integer, optionally followed by
// one of the binary units KiB, MiB, GiB. nullopt on anything else or on overflow.
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace proxy::config
