#include "proxy/h2/server_session.h"

#include <nghttp2/nghttp2.h>

#include <iterator>

namespace proxy::h2 {

nghttp2_session* new_server_session(const nghttp2_session_callbacks* callbacks, void* user,
                                    nghttp2_mem* mem) {
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) return nullptr;
  nghttp2_option_set_no_auto_window_update(opt, 1);  // a window opens as the node takes bytes
  // nghttp2 keeps up to kMaxConcurrentStreams closed streams (about 250 bytes each): it needs
  // them to answer DATA or HEADERS on a stream the client closed with STREAM_CLOSED (RFC 9113
  // 5.1) instead of ignoring them.
  nghttp2_option_set_stream_reset_rate_limit(opt, 2 * kResetBurst, 2 * kResetRate);
  nghttp2_option_set_max_continuations(opt, kMaxContinuations);
  nghttp2_session* session = nullptr;
  const int rv = nghttp2_session_server_new3(&session, callbacks, user, opt, mem);
  nghttp2_option_del(opt);
  return rv == 0 ? session : nullptr;
}

void submit_server_settings(nghttp2_session* session, uint32_t max_header) {
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, max_header},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},  // WebSocket over HTTP/2 (RFC 8441)
  };
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
}

HeaderIntake::Verdict HeaderIntake::take(std::string_view name, std::string_view value,
                                         size_t max_header) {
  head_bytes += name.size() + value.size() + 32;
  if (head_bytes > max_header) return Verdict::TooLarge;
  if (head_done) {
    if (!name.starts_with(':')) append_trailer_line(in_trailers, name, value);
    return Verdict::Ok;
  }
  return head.add(name, value) ? Verdict::Ok : Verdict::Malformed;
}

}  // namespace proxy::h2
