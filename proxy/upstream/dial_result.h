// How one connect to a node ended: ready (and how long it took), or why not.
#pragma once

#include <chrono>
#include <optional>

#include "routing/node_traffic.h"

namespace proxy::upstream {

struct DialResult {
  std::optional<routing::ConnectError> error;  // empty: connected (and handshaken)
  std::chrono::steady_clock::duration took{};

  bool failed() const { return error.has_value(); }
};

}  // namespace proxy::upstream
