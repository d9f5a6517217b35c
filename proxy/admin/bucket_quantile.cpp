#include "proxy/admin/bucket_quantile.h"

#include <algorithm>

namespace proxy::admin {

std::optional<double> bucket_quantile(double q, std::span<const uint64_t> counts,
                                      std::span<const uint64_t> bounds_ns) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0 || counts.empty()) return std::nullopt;
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(total);
  double below = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double here = static_cast<double>(counts[i]);
    if (here > 0 && below + here >= rank) {
      if (i >= bounds_ns.size()) break;  // the +Inf bucket
      const double lower = i == 0 ? 0.0 : static_cast<double>(bounds_ns[i - 1]);
      const double upper = static_cast<double>(bounds_ns[i]);
      const double ns = lower + (upper - lower) * ((rank - below) / here);
      return ns / 1e6;
    }
    below += here;
  }
  if (bounds_ns.empty()) return std::nullopt;
  return static_cast<double>(bounds_ns.back()) / 1e6;
}

}  // namespace proxy::admin
