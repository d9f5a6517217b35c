#include "proxy/h2/stream_numbers.h"

#include <algorithm>

namespace proxy::h2 {

bool StreamNumbers::never_opened(int32_t id) {
  if (id <= 0 || id % 2 == 0) return false;  // nghttp2 answers these itself
  if (id > newest_) {
    newest_ = id;
    ids_[next_] = id;
    next_ = (next_ + 1) % kKept;
    if (next_ == 0) wrapped_ = true;
    return false;
  }
  if (id == newest_) return false;
  const int32_t oldest = wrapped_ ? ids_[next_] : 0;
  if (id <= oldest) return false;  // maybe opened long ago
  return std::find(ids_.begin(), ids_.end(), id) == ids_.end();
}

}  // namespace proxy::h2
