// The http check: one request, the status in range, and optionally a piece of the body.
#include <algorithm>
#include <string>

#include "proxy/health/probe_dialogues.h"
#include "proxy/http/chunked_decoder.h"
#include "proxy/http/message_head.h"

namespace proxy::health {
namespace {

using boost::asio::awaitable;
using boost::system::error_code;

constexpr size_t kMaxHead = 16 * 1024;

std::string request_of(const routing::CheckSettings& check, std::string_view host) {
  std::string r;
  r.reserve(128 + check.path.size() + host.size());
  r += check.method;
  r += ' ';
  r += check.path;
  r += " HTTP/1.1\r\nHost: ";
  r += host;
  r += "\r\nUser-Agent: passeur-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  return r;
}

// What the head says about the body that follows it.
struct Framing {
  unsigned status = 0;
  bool chunked = false;
  std::optional<uint64_t> length;  // nullopt and not chunked: until the connection closes
};

// Reads response heads until a final one (1xx interim answers are skipped); its bytes are
// taken from the connection's buffer, the body's first bytes stay there.
awaitable<std::optional<Framing>> read_head(ProbeConnection& conn, std::string& failure) {
  std::string& buf = conn.buffer();
  for (;;) {
    http::ResponseHead head;
    switch (http::parse_response_head(buf, kMaxHead, head)) {
      case http::HeadStatus::Complete: {
        if (head.status >= 100 && head.status < 200 && head.status != 101) {
          buf.erase(0, head.size);
          continue;
        }
        Framing f{head.status, head.chunked, head.content_length};
        buf.erase(0, head.size);
        co_return f;
      }
      case http::HeadStatus::Incomplete:
        break;
      case http::HeadStatus::TooLarge:
        failure = "response head larger than 16KiB";
        co_return std::nullopt;
      case http::HeadStatus::Bad:
      case http::HeadStatus::BadVersion:
        failure = "malformed HTTP response: " + printable(buf.substr(0, buf.find('\r')));
        co_return std::nullopt;
    }
    if (error_code ec = co_await conn.read_some()) {
      failure = failure_detail(ec, "while waiting for the response");
      co_return std::nullopt;
    }
  }
}

// Up to kMaxProbeBody bytes of the body into `body`. Stops early once `needle` is found.
awaitable<error_code> read_body(ProbeConnection& conn, const Framing& f, std::string_view needle,
                                std::string& body) {
  std::string& buf = conn.buffer();
  http::ChunkedDecoder chunks;
  uint64_t left = f.length.value_or(UINT64_MAX);
  for (;;) {
    if (f.chunked) {
      size_t used = 0;
      auto status = chunks.feed(buf, used, [&](std::string_view data) {
        body.append(data.substr(0, kMaxProbeBody - std::min(body.size(), kMaxProbeBody)));
      });
      buf.erase(0, used);
      if (status == http::ChunkedDecoder::Status::Bad)
        co_return boost::asio::error::invalid_argument;
      if (chunks.done()) co_return error_code();
    } else {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
      body.append(buf, 0, std::min(n, kMaxProbeBody - std::min(body.size(), kMaxProbeBody)));
      buf.erase(0, n);
      left -= n;
      if (left == 0) co_return error_code();
    }
    if (body.size() >= kMaxProbeBody || body.find(needle) != std::string::npos)
      co_return error_code();
    if (error_code ec = co_await conn.read_some()) {
      // A body delimited by the close ends here.
      if (ec == boost::asio::error::eof && !f.chunked && !f.length) co_return error_code();
      co_return ec;
    }
  }
}

}  // namespace

awaitable<ProbeResult> http_dialogue(ProbeConnection& conn, const routing::CheckSettings& check,
                                     std::string_view host) {
  if (error_code ec = co_await conn.write(request_of(check, host)))
    co_return ProbeResult{false, failure_detail(ec, "while sending the request")};
  std::string failure;
  const auto framing = co_await read_head(conn, failure);
  if (!framing) co_return ProbeResult{false, failure};

  const std::string status = "HTTP " + std::to_string(framing->status);
  if (framing->status < check.status_min || framing->status > check.status_max)
    co_return ProbeResult{false, status};
  if (check.expect_body.empty()) co_return ProbeResult{true, status};

  std::string body;
  const bool bodiless = check.method == "HEAD" || framing->status == 204 || framing->status == 304;
  if (!bodiless) {
    if (error_code ec = co_await read_body(conn, *framing, check.expect_body, body)) {
      if (ec == boost::asio::error::invalid_argument)
        co_return ProbeResult{false, status + ", malformed chunked body"};
      co_return ProbeResult{false, status + ", " + failure_detail(ec, "while reading the body")};
    }
  }
  if (body.find(check.expect_body) == std::string::npos) {
    co_return ProbeResult{false,
                          status + ", body without \"" + printable(check.expect_body, 60) + "\""};
  }
  co_return ProbeResult{true, status + ", body matched"};
}

}  // namespace proxy::health
