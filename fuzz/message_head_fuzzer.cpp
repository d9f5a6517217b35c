// The HTTP/1.x message head parser (proxy/http/message_head.h), as a request (from clients)
// and as a response (from nodes).
//
// Every view of a parsed head points into the input and the head's size never passes it.
// Invariant: a request or response head that parses, written out again from what was parsed
// (start line, fields with their trimmed values), parses to an equivalent head: same start
// line, fields, framing and connection options.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/http/message_head.h"

namespace {

using namespace proxy::http;

void inside(std::string_view view, std::string_view data) {
  if (view.empty()) return;
  if (view.data() < data.data() || view.data() + view.size() > data.data() + data.size()) {
    std::fprintf(stderr, "a view outside the parsed bytes\n");
    std::abort();
  }
}

void check_views(const MessageHead& h, std::string_view data) {
  if (h.size == 0 || h.size > data.size() || h.nfields > kMaxFields) std::abort();
  for (uint16_t i = 0; i < h.nfields; ++i) {
    inside(h.fields[i].name, data.substr(0, h.size));
    inside(h.fields[i].value, data.substr(0, h.size));
  }
  inside(h.upgrade, data.substr(0, h.size));
}

std::string fields_of(const MessageHead& h) {
  std::string out;
  for (uint16_t i = 0; i < h.nfields; ++i) {
    out.append(h.fields[i].name).append(": ").append(h.fields[i].value).append("\r\n");
  }
  return out + "\r\n";
}

std::string version_of(const MessageHead& h) {
  return h.version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

bool same_message(const MessageHead& a, const MessageHead& b) {
  if (a.version != b.version || a.nfields != b.nfields || a.content_length != b.content_length ||
      a.chunked != b.chunked || a.has_transfer_encoding != b.has_transfer_encoding ||
      a.connection_close != b.connection_close ||
      a.connection_keep_alive != b.connection_keep_alive ||
      a.connection_upgrade != b.connection_upgrade || a.upgrade != b.upgrade) {
    return false;
  }
  for (uint16_t i = 0; i < a.nfields; ++i) {
    if (a.fields[i].name != b.fields[i].name || a.fields[i].value != b.fields[i].value) {
      return false;
    }
  }
  return true;
}

[[noreturn]] void fail(const char* what, const std::string& again) {
  std::fprintf(stderr, "%s:\n%s\n", what, again.c_str());
  std::abort();
}

void request(std::string_view data, size_t max_size) {
  RequestHead h;
  if (parse_request_head(data, max_size, h) != HeadStatus::Complete) return;
  check_views(h, data);
  inside(h.method, data);
  inside(h.target, data);
  inside(h.host, data);
  const std::string again = std::string(h.method) + " " + std::string(h.target) + " " +
                            version_of(h) + "\r\n" + fields_of(h);
  RequestHead h2;
  if (parse_request_head(again, again.size(), h2) != HeadStatus::Complete) {
    fail("a request head written out again does not parse", again);
  }
  if (h2.size != again.size() || !same_message(h, h2) || h.method != h2.method ||
      h.target != h2.target || h.host != h2.host || h.host_count != h2.host_count ||
      h.expect_continue != h2.expect_continue) {
    fail("a request head written out again parses to another head", again);
  }
}

void response(std::string_view data, size_t max_size) {
  ResponseHead h;
  if (parse_response_head(data, max_size, h) != HeadStatus::Complete) return;
  check_views(h, data);
  inside(h.reason, data);
  const std::string again = version_of(h) + " " + std::to_string(h.status) + " " +
                            std::string(h.reason) + "\r\n" + fields_of(h);
  ResponseHead h2;
  if (parse_response_head(again, again.size(), h2) != HeadStatus::Complete) {
    fail("a response head written out again does not parse", again);
  }
  if (h2.size != again.size() || !same_message(h, h2) || h.status != h2.status ||
      h.reason != h2.reason) {
    fail("a response head written out again parses to another head", again);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  request(in, 64 * 1024);
  response(in, 64 * 1024);
  // A limit inside the input: never Complete past it.
  const size_t limit = size / 2;
  RequestHead h;
  if (parse_request_head(in, limit, h) == HeadStatus::Complete && h.size > limit) std::abort();
  return 0;
}
