// The stream numbers a client opened lately, to tell a HEADERS frame on a stream it never opened
// (a number lower than one it already used: RFC 9113 5.1.1, PROTOCOL_ERROR) from one on a stream
// that was open once (trailers the client sent before it saw Passeur's RST_STREAM: ignored).
// nghttp2 ignores both, as it does not remember every number; the last kKept are enough to be
// sure of any number between the oldest of them and the newest.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace proxy::h2 {

class StreamNumbers {
 public:
  static constexpr size_t kKept = 32;

  // A HEADERS frame on client stream `id` (odd, above 0) begins. True when that is an error:
  // `id` is below the newest stream opened and sure to be one the client never opened.
  // A number above the newest opens a stream and is remembered.
  bool never_opened(int32_t id);

 private:
  std::array<int32_t, kKept> ids_{};  // the last kKept numbers opened, oldest at next_
  size_t next_ = 0;
  bool wrapped_ = false;  // kKept numbers or more opened: below the oldest kept, nothing is sure
  int32_t newest_ = 0;
};

}  // namespace proxy::h2
