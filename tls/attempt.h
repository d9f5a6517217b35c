#pragma once

// The outcome of one non-blocking TLS operation: done (error code, bytes) or the readiness of
// the socket it needs before it is tried again.

#include <boost/system/error_code.hpp>
#include <cstddef>

namespace tls::detail {

enum class Want : unsigned char { nothing, read, write };

struct Attempt {
  boost::system::error_code ec;
  std::size_t bytes = 0;
  Want want = Want::nothing;
};

}  // namespace tls::detail
