// The admin API (proxy/admin/api.h) on what a client sends it: request heads parsed as the
// admin listener parses them (proxy/http/message_head.h), then answered by handle() over a
// running config of two pools, and written out by serialize(), as proxy/admin/admin_server.cpp
// does. The API reads no request body: the method, the target (its path segments
// percent-decoded, the query ignored) and the Authorization header are all it parses.
//
// The input's first byte sets the context (bit 0: a token is asked for, bit 1: no config is
// loaded, bit 2: a reload succeeds, bit 3: /metrics is served, bit 4: reload throws); the rest
// is the bytes of pipelined requests, answered one after the other against the same config
// (a drain stays drained for the next request).
//
// Invariants: each answer has a status the API documents; a JSON answer is a JSON object, with
// an "error" string when the status is an error; the bytes written parse back as a response
// head whose Content-Length is the body's length and whose status is the answer's. And each
// path segment that percent-decodes, with every byte escaped again, decodes to the same.

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "proxy/admin/api.h"
#include "proxy/http/message_head.h"

namespace {

using namespace proxy;
using namespace proxy::admin;
namespace json = boost::json;

constexpr size_t kMaxHead = 16 * 1024;  // as proxy/admin/admin_server.cpp
constexpr std::string_view kToken = "0123456789abcdef0123";

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "%s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

Config two_pools() {
  Config c;
  routing::PoolSettings cloud;
  cloud.name = "cloud";
  cloud.nodes = {{"node1", "10.0.0.11:8081", 2}, {"node2", "10.0.0.12:8081", 1}};
  routing::PoolSettings webmail;
  webmail.name = "webmail";
  webmail.balance = routing::Balance::RoundRobin;
  webmail.nodes = {{"10.0.0.11:8080", "10.0.0.11:8080", 1}, {"[::1]:8080", "[::1]:8080", 1}};
  c.pools = {cloud, webmail};
  return c;
}

void check_percent_decoding(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string_view segment = path.substr(0, slash);
    if (auto decoded = percent_decode(segment)) {
      std::string escaped;
      for (unsigned char c : *decoded) {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", c);
        escaped += hex;
      }
      if (percent_decode(escaped) != decoded) fail("escaped again, decodes to another", segment);
    }
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
}

void check_response(const Response& r, std::string_view method, std::string_view target) {
  switch (r.status) {
    case 200:
    case 400:
    case 401:
    case 404:
    case 405:
    case 422:
    case 503:
      break;
    default:
      fail("an undocumented status for", target);
  }
  if (r.content_type == "application/json") {
    json::error_code ec;
    const json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object()) fail("a JSON answer that is not a JSON object", r.body);
    if (r.status >= 400 && !(v.as_object().contains("error") && v.at("error").is_string())) {
      fail("an error answer without an error string", r.body);
    }
  }
  const bool head_only = method == "HEAD";
  const std::string out = serialize(r, head_only, r.close);
  http::ResponseHead head;
  if (http::parse_response_head(out, out.size(), head) != http::HeadStatus::Complete) {
    fail("an answer whose head does not parse", out);
  }
  if (head.status != r.status || head.content_length != r.body.size()) {
    fail("an answer whose head says another status or length", out);
  }
  if (out.size() - head.size != (head_only ? 0 : r.body.size())) {
    fail("an answer whose body is not its Content-Length", out);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

  Context ctx;
  if ((flags & 2) == 0) ctx.snapshot = std::make_shared<const Snapshot>(two_pools(), nullptr);
  if ((flags & 1) != 0) ctx.token = kToken;
  ctx.now = routing::Clock::time_point(std::chrono::hours(1000));
  ctx.reload = [flags, rest](std::string& message) -> bool {
    if ((flags & 16) != 0) throw std::runtime_error("reload failed");
    message = std::string(rest.substr(0, 200));  // errors, one a line, or a message
    return (flags & 4) != 0;
  };
  if ((flags & 8) != 0) ctx.metrics = [] { return std::string("# passeur\n"); };
  ctx.log = [](std::string_view) {};

  for (int requests = 0; requests < 8 && !rest.empty(); ++requests) {
    http::RequestHead head;
    if (http::parse_request_head(rest, kMaxHead, head) != http::HeadStatus::Complete) break;
    const std::string method(head.method), target(head.target);
    const std::string auth(head.get("authorization"));
    rest.remove_prefix(head.size);
    check_percent_decoding(target);
    const Response r = handle(Request{method, target, auth, "127.0.0.1"}, ctx);
    check_response(r, method, target);
  }
  return 0;
}
