// A quantile estimated from histogram buckets, as Prometheus's histogram_quantile() does: the
// bucket holding the rank is found and the value interpolated linearly inside it (from 0 for
// the first bucket). A rank in the last, unbounded bucket gives the highest finite bound.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace proxy::admin {

// `counts`: per bucket, not cumulative, bounds.size() + 1 of them (the last is +Inf).
// `bounds_ns`: upper bounds in nanoseconds. Returns milliseconds; nullopt without observations.
std::optional<double> bucket_quantile(double q, std::span<const uint64_t> counts,
                                      std::span<const uint64_t> bounds_ns);

}  // namespace proxy::admin
