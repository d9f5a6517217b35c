// The nghttp2 server session of a client connection, as the HTTP/2 front makes it: its options
// (window updates by hand, the reset-rate and CONTINUATION limits), the SETTINGS Passeur sends,
// and the header fields of one stream as they come in. The front and the fuzz target of its
// frames make their sessions here.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/h2/head_conversion.h"

struct nghttp2_session;
struct nghttp2_session_callbacks;

namespace proxy::h2 {

inline constexpr uint32_t kMaxConcurrentStreams = 100;
inline constexpr int32_t kStreamWindow = 256 * 1024;       // request body bytes held per stream
inline constexpr int32_t kConnectionWindow = 1024 * 1024;  // ... and per connection
// Rapid reset (CVE-2023-44487): streams a client may reset at once, then per second.
inline constexpr double kResetBurst = 100;
inline constexpr double kResetRate = 20;
inline constexpr size_t kMaxContinuations = 8;

// A server session with the front's options, its memory from `mem` (malloc when null); null
// when nghttp2 cannot make one.
nghttp2_session* new_server_session(const nghttp2_session_callbacks* callbacks, void* user,
                                    nghttp2_mem* mem = nullptr);

// Queues Passeur's SETTINGS (streams, windows, `max_header` as the header list's limit, no
// push, extended CONNECT) and opens the connection's window.
void submit_server_settings(nghttp2_session* session, uint32_t max_header);

// A stream's header fields as nghttp2 hands them over: the request's, then its trailers'.
struct HeaderIntake {
  enum class Verdict { Ok, TooLarge, Malformed };

  // One field. TooLarge: the list passed `max_header` as SETTINGS_MAX_HEADER_LIST_SIZE counts
  // it (RFC 9113 6.5.2: name, value and 32 bytes per field), trailers included. Malformed: a
  // request pseudo-header field HTTP/2 does not define, or one repeated.
  Verdict take(std::string_view name, std::string_view value, size_t max_header);

  RequestHeadText head;
  size_t head_bytes = 0;    // of the header list, as SETTINGS_MAX_HEADER_LIST_SIZE counts
  bool head_done = false;   // the request's header block is in: later fields are trailers
  std::string in_trailers;  // "name: value\r\n" lines
};

}  // namespace proxy::h2
