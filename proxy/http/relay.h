// The relay stage of an HTTP/1.1 request: the head the node gets is written, and once a
// connection to a node is in hand the request head and body go to it, interim (1xx) responses
// come back to the client, then the final response's head and body, or after a 101 the bytes of
// the upgraded connection both ways.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/http/body_relay.h"
#include "proxy/http/forward_rules.h"
#include "proxy/http/head_reader.h"
#include "proxy/http/header_rewrite.h"
#include "proxy/http/message_head.h"
#include "proxy/http/session_core.h"
#include "proxy/http/tunnel.h"
#include "proxy/http/upstream_attempt.h"
#include "routing/pool.h"

namespace proxy::http {

// Upstream response heads may be larger than a client's: cookies set by a cloud suite.
inline constexpr size_t kMaxResponseHead = 64 * 1024;
// First read of a response: its head and, for most pages, scripts and images, the whole body,
// passed on to the client in one write. A 16 KiB read would split a 16 KiB file in two reads and
// two writes. The buffer belongs to the backend connection (at most `max_idle` per node).
inline constexpr size_t kResponseRead = 32 * 1024;

// One request on its way to a node.
struct Exchange {
  RequestHead& req;
  std::string& head;  // the head for the node: kept for a replay when no body follows
  const ListenerSettings& listener;
  const routing::RouteSettings& route;
  routing::Pool& pool;
  UpstreamAttempt& upstream;  // holds the connection
  uint64_t content_length = 0;
  bool has_body = false;
  bool websocket = false;
  bool idempotent = false;   // may be sent again when its connection failed before any answer
  bool client_keep = false;  // the client's connection may stay open after this request
};

// Writes the head the node gets into `x.head`: the client's, its target in origin form, with
// the forwarding fields and without the hop-by-hop ones. When a body follows, the client's head
// bytes first move into `saved_head` (the body is read into the buffer that holds them; the
// access log still reads the head).
template <class Stream>
void build_forward_head(SessionCore<Stream>& s, Exchange& x, std::string_view target, bool tls,
                        std::string& saved_head) {
  RequestHead& req = x.req;
  const Config& config = s.snap_->config();
  build_request_head(
      req,
      RequestRewrite{.target = target,
                     .client_ip = s.peer_ip_,
                     // Without [geoip] the header is left alone, as any other.
                     .country_header = config.geoip.database.empty()
                                           ? std::string_view()
                                           : std::string_view(config.geoip.header),
                     .country = s.country_.known() ? s.country_.code() : std::string_view(),
                     .proto = tls ? "https" : "http",
                     .host = req.host,
                     .forwarded = x.listener.forwarded,
                     .via = x.listener.via,
                     .websocket = x.websocket,
                     .chunked = req.chunked,
                     .content_length = x.has_body && !req.chunked ? std::optional(x.content_length)
                                                                  : std::nullopt},
      x.head);
  apply_request_rules({*s.snap_, x.listener, x.route, req, s.peer_ip_}, x.head);
  if (x.has_body) {
    const char* base = static_cast<const char*>(s.cbuf_.data().data());
    saved_head.assign(base, req.size);
    rebase(req, base, saved_head.data());
    s.cbuf_.consume(req.size);
    s.pending_head_ = 0;
  }
}

// Relays the request `x` over the connection its upstream holds, and the answer back. Returns
// whether the client connection stays open.
template <class Stream>
boost::asio::awaitable<bool> relay(SessionCore<Stream>& s, Exchange& x) {
  namespace asio = boost::asio;
  using boost::system::error_code;
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  RequestHead& req = x.req;
  std::string& head = x.head;
  const ListenerSettings& ls = x.listener;
  const routing::RouteSettings& route = x.route;
  routing::NodeLease& lease = x.upstream.lease();
  std::unique_ptr<upstream::Connection>& up = x.upstream.conn();
  const bool has_body = x.has_body;

  if (req.expect_continue && has_body && req.version == 11 && s.cbuf_.size() == 0) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    s.deadline_in(ls.client_timeout);
    auto [ec, n] = co_await asio::async_write(s.client_, asio::buffer(kContinue), use_tuple);
    if (ec) co_return false;
  }

  // Send the request: the head alone (kept for a replay), or with the body streamed behind it.
  BodyState req_body = req.chunked ? BodyState::chunked() : BodyState::length(x.content_length);
  for (;;) {
    RelayResult r = RelayResult::Ok;
    if (has_body) {
      uint64_t sent_bytes = 0;
      const size_t head_size = head.size();
      r = co_await relay_body(s.client_, up->stream,
                              BodyRelay{.in = s.cbuf_,
                                        .body = req_body,
                                        .head = head,
                                        .chunked_out = req.chunked,
                                        .read_timeout = ls.client_timeout,
                                        .write_timeout = route.timeouts.response,
                                        .limit = route.max_body,
                                        .bytes_out = sent_bytes,
                                        .expired = s.expired_},
                              s.deadline_fn());
      s.node_traffic(*lease.node()).sent_bytes.add(sent_bytes);
      s.rec_.bytes_received += sent_bytes > head_size ? sent_bytes - head_size : 0;
    } else {
      s.deadline_in(route.timeouts.response);
      auto [ec, n] = co_await asio::async_write(up->stream, asio::buffer(head), use_tuple);
      s.node_traffic(*lease.node()).sent_bytes.add(n);
      if (ec) r = s.expired_ ? RelayResult::Expired : RelayResult::DestError;
    }
    if (r == RelayResult::Ok) break;
    s.upstream_ = nullptr;
    switch (r) {
      case RelayResult::TooLarge:
        s.finish_request(req, 413);
        co_return co_await s.send_error(413, "request body too large", true);
      case RelayResult::SourceBad:
        s.finish_request(req, 400);
        co_return co_await s.send_error(400, "bad chunked body", true);
      case RelayResult::SourceError:
        co_return false;  // the client stopped sending: the backend never sees a whole request
      default:
        break;
    }
    if (r == RelayResult::Expired && has_body) co_return false;
    if (!has_body && co_await x.upstream.resend_head(head, false, x.idempotent)) break;
    s.finish_request(req, 502);
    co_return co_await s.send_error(502, "upstream write failed", true);
  }

  // The response. Interim 1xx answers are passed on and the final one is read next.
  auto res_slot = s.w_.response_heads().acquire();
  for (;;) {
    ResponseHead& res = *res_slot;
    error_code ec;
    s.deadline_in(route.timeouts.response);
    HeadStatus st = co_await read_head(up->stream, up->buffer, res, kMaxResponseHead, kResponseRead,
                                       parse_response_head, ec);
    if (st != HeadStatus::Complete) {
      s.upstream_ = nullptr;
      bool timed_out = s.expired_;
      s.expired_ = false;
      if (timed_out) {
        s.finish_request(req, 504);
        co_return co_await s.send_error(504, "upstream response timeout", true);
      }
      // Closed before any byte of the response.
      if (st == HeadStatus::Incomplete && !has_body && up->buffer.size() == 0 &&
          co_await x.upstream.resend_head(head, true, x.idempotent))
        continue;
      s.finish_request(req, 502);
      co_return co_await s.send_error(502, "bad upstream response", true);
    }
    s.rec_.upstream_end = s.w_.now();
    const unsigned status = res.status;

    if (status >= 100 && status < 200 && status != 101) {
      std::string interim;
      if (req.version == 11)  // HTTP/1.0 clients do not expect interim responses
        build_response_head(res, ResponseRewrite{.framing = Framing::None, .via = ls.via}, interim);
      up->buffer.consume(res.size);
      if (!interim.empty()) {
        s.deadline_in(ls.client_timeout);
        auto [wec, wn] = co_await asio::async_write(s.client_, asio::buffer(interim), use_tuple);
        if (wec) {
          s.upstream_ = nullptr;
          co_return false;
        }
      }
      continue;
    }

    if (status == 101) {
      if (!x.websocket) {
        s.upstream_ = nullptr;
        s.finish_request(req, 502);
        co_return co_await s.send_error(502, "unexpected upgrade", true);
      }
      std::string out;
      build_response_head(
          res, ResponseRewrite{.framing = Framing::None, .via = ls.via, .extra = s.hsts_}, out);
      up->buffer.consume(res.size);
      s.cbuf_.consume(s.pending_head_);
      s.pending_head_ = 0;
      // Bytes that arrived behind either head belong to the tunnel.
      std::array<asio::const_buffer, 2> to_client{asio::buffer(out), up->buffer.data()};
      s.deadline_in(ls.client_timeout);
      auto [wec, wn] = co_await asio::async_write(s.client_, to_client, use_tuple);
      s.rec_.bytes_sent += wn;
      up->buffer.consume(up->buffer.size());
      s.finish_request(req, 101);
      if (!wec && s.cbuf_.size()) {
        auto [uec, un] = co_await asio::async_write(up->stream, s.cbuf_.data(), use_tuple);
        wec = uec;
        s.cbuf_.consume(s.cbuf_.size());
      }
      if (!wec)
        co_await tunnel(s.client_, up->stream, s.w_.buffers(), route.timeouts.tunnel,
                        s.deadline_fn());
      s.upstream_ = nullptr;
      co_return false;
    }

    // Framing towards the client (RFC 9112 6.3). A body delimited by the backend's close is
    // re-framed as chunks for an HTTP/1.1 client, whose connection then stays usable.
    BodyState res_body;
    if (req.method == "HEAD" || status == 204 || status == 304)
      res_body = BodyState::none();
    else if (res.chunked)
      res_body = BodyState::chunked();
    else if (res.content_length)
      res_body = BodyState::length(*res.content_length);
    else
      res_body = BodyState::until_close();
    const bool http10 = req.version == 10;
    Framing out_framing = res_body.kind;
    if (out_framing == Framing::Chunked || out_framing == Framing::Close)
      out_framing = http10 ? Framing::Close : Framing::Chunked;
    const bool keep =
        x.client_keep && out_framing != Framing::Close && !s.close_after_ && !s.w_.stopping();
    std::string out;
    build_response_head(res,
                        ResponseRewrite{.framing = out_framing,
                                        .keep_alive = keep,
                                        .client_http10 = http10,
                                        .via = ls.via,
                                        .extra = s.hsts_},
                        out);
    apply_response_rules({*s.snap_, ls, route, req, s.peer_ip_}, out);
    const bool backend_keep = res.keep_alive() && res_body.kind != Framing::Close;
    up->buffer.consume(res.size);
    RelayResult r = co_await relay_body(up->stream, s.client_,
                                        BodyRelay{.in = up->buffer,
                                                  .body = res_body,
                                                  .head = out,
                                                  .chunked_out = out_framing == Framing::Chunked,
                                                  .read_timeout = route.timeouts.response,
                                                  .write_timeout = ls.client_timeout,
                                                  .limit = 0,
                                                  .bytes_out = s.rec_.bytes_sent,
                                                  .expired = s.expired_},
                                        s.deadline_fn());
    s.upstream_ = nullptr;
    s.finish_request(req, status);
    x.upstream.answered(status >= 500);
    if (r != RelayResult::Ok) co_return false;  // never pass a truncated body as complete

    // Keep the backend connection for the next request when both messages ended cleanly, it
    // holds no unread bytes, and the config it belongs to is still the current one.
    if (backend_keep && up->buffer.size() == 0 && s.snap_ == s.w_.snapshot()) {
      ++up->requests;
      s.w_.upstreams().give_back(lease.node(), std::move(up), x.pool.settings().max_idle,
                                 s.w_.now());
    }
    co_return keep;
  }
}

}  // namespace proxy::http
