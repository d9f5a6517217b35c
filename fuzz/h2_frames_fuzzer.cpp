// HTTP/2 frames from a client, as Passeur's HTTP/2 front takes them: the bytes after the
// connection preface go into an nghttp2 server session made as the front makes its own
// (proxy/h2/server_session.h: options, SETTINGS, header intake), and each stream's header list
// becomes an HTTP/1.1 request head (proxy/h2/head_conversion.h), which the HTTP/1.1 parser then
// reads, as the front does.
//
// Invariants: a request head built from a header list either parses or is refused, and when it
// parses, its method and target are the :method and :path the client sent, and its Host the
// :authority; a head's size never exceeds what max_header allows for the list. Trailer fields
// read from the front's lines, written again and read back are the same fields.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/h2/head_conversion.h"
#include "proxy/h2/server_session.h"
#include "proxy/http/message_head.h"

namespace {

using namespace proxy;

constexpr uint32_t kMaxHeader = 8 * 1024;

struct Stream : h2::HeaderIntake {
  bool body_follows = false;
};

struct Fuzz {
  std::map<int32_t, Stream> streams;
};

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

void check_request(const Stream& in) {
  const std::string text = in.head.finish(in.body_follows);
  if (text.empty()) return;
  check(text.size() <= in.head_bytes + 128 + 64, "the head grew past its header list");
  http::RequestHead req;
  const auto status = http::parse_request_head(text, text.size() + 1, req);
  if (status != http::HeadStatus::Complete) return;  // answered 400 by the front
  check(req.method == in.head.method(), "the method changed");
  check(req.target == in.head.path(), "the target changed");
}

// Trailer fields read from the lines the front keeps are what the node's side writes back:
// reading them, writing them as lines again and reading those gives the same fields (the
// connection's own fields and Content-Length are dropped the first time, values trimmed).
void check_trailers(const h2::HeaderIntake& in) {
  if (in.in_trailers.empty()) return;
  const std::vector<h2::Field> fields = h2::trailer_fields(in.in_trailers);
  std::string again;
  for (const h2::Field& f : fields) {
    check(!f.name.empty() && f.value.find_first_of("\r\n") == std::string::npos,
          "a trailer field with no name, or a line break in its value");
    h2::append_trailer_line(again, f.name, f.value);
  }
  const std::vector<h2::Field> twice = h2::trailer_fields(again);
  check(twice.size() == fields.size(), "trailer fields lost when written again");
  for (size_t i = 0; i < fields.size(); ++i) {
    check(twice[i].name == fields[i].name && twice[i].value == fields[i].value,
          "trailer fields changed when written again");
  }
}

int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& f = *static_cast<Fuzz*>(user);
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    f.streams[frame->hd.stream_id];
  }
  return 0;
}

int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
              const uint8_t* value, size_t valuelen, uint8_t, void* user) {
  auto& f = *static_cast<Fuzz*>(user);
  auto it = f.streams.find(frame->hd.stream_id);
  if (it == f.streams.end()) return 0;
  const auto verdict =
      it->second.take(std::string_view(reinterpret_cast<const char*>(name), namelen),
                      std::string_view(reinterpret_cast<const char*>(value), valuelen), kMaxHeader);
  return verdict == h2::HeaderIntake::Verdict::Ok ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& f = *static_cast<Fuzz*>(user);
  auto it = f.streams.find(frame->hd.stream_id);
  if (it == f.streams.end() || frame->hd.type != NGHTTP2_HEADERS) return 0;
  Stream& in = it->second;
  if (!in.head_done) {
    in.body_follows = !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM);
    in.head_done = true;
    check_request(in);
  } else {
    check_trailers(in);
  }
  return 0;
}

int on_stream_close(nghttp2_session*, int32_t id, uint32_t, void* user) {
  static_cast<Fuzz*>(user)->streams.erase(id);
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fuzz fuzz;
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return 0;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_session* session = h2::new_server_session(cb, &fuzz);
  nghttp2_session_callbacks_del(cb);
  if (!session) return 0;
  h2::submit_server_settings(session, kMaxHeader);

  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  nghttp2_session_mem_recv(session, reinterpret_cast<const uint8_t*>(kPreface.data()),
                           kPreface.size());
  // The frames in pieces, as reads deliver them: the first byte says where to cut.
  size_t step = size ? 1 + data[0] % 64 : 1;
  for (size_t at = size ? 1 : 0; at < size; at += step) {
    const size_t n = std::min(step, size - at);
    if (nghttp2_session_mem_recv(session, data + at, n) < 0) break;
    // What Passeur would write (acknowledgements, GOAWAY) is taken and dropped.
    const uint8_t* out = nullptr;
    while (nghttp2_session_mem_send(session, &out) > 0) {
    }
  }
  nghttp2_session_del(session);
  return 0;
}
