#include "proxy/h2/stream_exchange.h"

#include <nghttp2/nghttp2.h>

#include <cstring>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/h2/body_pipe.h"
#include "proxy/h2/websocket_key.h"
#include "proxy/http/body_relay.h"
#include "proxy/http/decide.h"
#include "proxy/http/exchange.h"
#include "proxy/http/forward_rules.h"
#include "proxy/http/head_reader.h"
#include "proxy/http/header_rewrite.h"
#include "proxy/http/request_log.h"
#include "proxy/http/tunnel.h"
#include "proxy/http/upstream_attempt.h"
#include "proxy/worker_context.h"

namespace proxy::h2 {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using boost::system::error_code;
using http::BodyRelay;
using http::BodyState;
using http::Framing;
using http::HeadStatus;
using http::RelayResult;
using http::RequestHead;
using http::ResponseHead;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::vector<nghttp2_nv> to_nv(const std::vector<Field>& fields) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(fields.size());
  for (const Field& f : fields) {
    nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(f.name.data())),
                  reinterpret_cast<uint8_t*>(const_cast<char*>(f.value.data())), f.name.size(),
                  f.value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nv;
}

// nghttp2 asks for the response body's next bytes: what the relay put in the stream's queue,
// or NGHTTP2_ERR_DEFERRED until output_ready(). The end of the body ends the stream, or comes
// with the trailers.
ssize_t read_body(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                  uint32_t* flags, nghttp2_data_source* source, void*) {
  StreamState& s = *static_cast<StreamState*>(source->ptr);
  const size_t held = s.out.size() - s.out_pos;
  if (held == 0 && !s.out_end) {
    s.out_deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  const size_t n = std::min(held, length);
  if (n) std::memcpy(buf, s.out.data() + s.out_pos, n);
  s.out_pos += n;
  if (s.out_pos == s.out.size()) {
    s.out.clear();
    s.out_pos = 0;
    if (s.out_end) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!s.out_trailers.empty()) {
        std::vector<nghttp2_nv> nv = to_nv(s.out_trailers);
        if (nghttp2_submit_trailer(session, id, nv.data(), nv.size()) == 0)
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
      s.out_sent = true;
    }
  }
  s.out_signal.cancel();  // room for the relay
  return static_cast<ssize_t>(n);
}

// Where an HTTP/2 stream's request meets the stages.
class StreamExchange {
 public:
  StreamExchange(StreamHost& host, StreamState& st)
      : host_(host),
        st_(st),
        w_(host.worker()),
        info_(host.info()),
        snap_(w_.snapshot()),
        ls_(snap_->config().listeners[info_.listener]) {
    if (info_.tls && !ls_.hsts.empty()) hsts_ = "Strict-Transport-Security: " + ls_.hsts + "\r\n";
  }

  awaitable<void> run();

 private:
  void deadline_in(Millis d) { st_.set_deadline(w_.now() + d); }
  auto deadline_fn() {
    return [this](Millis d) { deadline_in(d); };
  }

  void finish(const RequestHead& req, unsigned status, std::string_view why) {
    st_.rec.close = why;
    http::finish_request(http::RequestSource{.w = w_,
                                             .listener = info_.listener,
                                             .listener_name = ls_.name,
                                             .client = info_.peer_ip,
                                             .client_port = info_.peer.port(),
                                             .country = info_.country},
                         st_.rec, req, status);
  }

  // The response head goes to nghttp2, with the body to follow when `body`. `flush`: the writer
  // sends it now; else with the first bytes of the body (one write, one TLS record for both).
  bool submit_head(const ResponseHead& res, bool body, bool flush = true) {
    return submit_fields(response_fields(res), body, flush);
  }
  bool submit_fields(const std::vector<Field>& fields, bool body, bool flush) {
    if (st_.closed) return false;
    for (const Field& f : fields) st_.rec.bytes_sent += f.name.size() + f.value.size() + 2;
    std::vector<nghttp2_nv> nv = to_nv(fields);
    nghttp2_data_provider provider{};
    provider.source.ptr = &st_;
    provider.read_callback = read_body;
    const int rv = nghttp2_submit_response(host_.session(), st_.id, nv.data(), nv.size(),
                                           body ? &provider : nullptr);
    if (!body) st_.out_sent = true;
    if (flush) host_.output_ready(0);
    return rv == 0;
  }

  // Waits until the whole response went to nghttp2, or the stream ended otherwise.
  awaitable<bool> sent() {
    deadline_in(ls_.client_timeout);
    while (!st_.out_sent && !st_.closed && !st_.expired)
      co_await st_.out_signal.async_wait(use_tuple);
    co_return st_.out_sent;
  }

  // An answer of Passeur's own, written as for HTTP/1.1 (build_error_response, a redirect).
  awaitable<bool> answer_text(std::string text) {
    auto slot = w_.response_heads().acquire();
    ResponseHead& res = *slot;
    if (http::parse_response_head(text, text.size() + 1, res) != HeadStatus::Complete)
      co_return false;
    st_.out.assign(text, res.size);
    st_.out_pos = 0;
    st_.out_end = true;
    st_.rec.bytes_sent += st_.out.size();
    if (!submit_head(res, !st_.out.empty())) co_return false;
    co_return co_await sent();
  }

  awaitable<void> answer_error(const RequestHead* req, unsigned status, std::string_view text,
                               std::string_view why) {
    std::string out;
    http::build_error_response(status, text, false, out, hsts_);
    const bool ok = co_await answer_text(std::move(out));
    if (req)
      finish(*req, status, ok ? why : "client_error");
    else
      http::count_rejected(w_, info_.listener, st_.rec, status, 20);
  }

  // The client's body is not wanted (any more): its window reopens and the client is told to
  // stop sending (RST_STREAM NO_ERROR after a complete response, RFC 9113 8.1).
  void stop_body() {
    if (st_.in_end || st_.closed) return;
    st_.stopped_body = true;
    if (!st_.in.empty()) {
      nghttp2_session_consume_connection(host_.session(), st_.in.size());
      st_.in.clear();
    }
    nghttp2_submit_rst_stream(host_.session(), NGHTTP2_FLAG_NONE, st_.id, NGHTTP2_NO_ERROR);
    host_.output_ready(0);
  }

  void reset(uint32_t code) {
    if (st_.closed) return;
    nghttp2_submit_rst_stream(host_.session(), NGHTTP2_FLAG_NONE, st_.id, code);
    host_.output_ready(0);
  }

  // An interim (1xx) answer goes to the client as a HEADERS frame without END_STREAM (RFC 9113
  // 8.1), a 100 once only (the node's, or Passeur's own after expect_timeout).
  void submit_interim(const std::vector<Field>& fields) {
    if (st_.closed) return;
    for (const Field& f : fields) st_.rec.bytes_sent += f.name.size() + f.value.size() + 2;
    std::vector<nghttp2_nv> nv = to_nv(fields);
    nghttp2_submit_headers(host_.session(), NGHTTP2_FLAG_NONE, st_.id, nullptr, nv.data(),
                           nv.size(), nullptr);
    host_.output_ready(0);
  }
  void interim(const ResponseHead& res) {
    if (res.status == 100) {
      if (continue_sent_) return;
      continue_sent_ = true;
    }
    // As an HTTP/1.1 client would get it (Via), then as HTTP/2 fields.
    std::string text;
    http::build_response_head(res, http::ResponseRewrite{.framing = Framing::None, .via = ls_.via},
                              text);
    auto slot = w_.response_heads().acquire();
    ResponseHead& conv = *slot;
    if (http::parse_response_head(text, text.size() + 1, conv) != HeadStatus::Complete) return;
    submit_interim(response_fields(conv));
  }

  awaitable<void> proxy(RequestHead& req, const http::Decision& d);
  awaitable<void> respond(RequestHead& req, http::Exchange& x, ResponseHead& res, bool early);
  awaitable<void> upgrade(RequestHead& req, http::Exchange& x, ResponseHead& res);

  StreamHost& host_;
  StreamState& st_;
  WorkerContext& w_;
  const SessionInfo& info_;
  std::shared_ptr<const Snapshot> snap_;
  const ListenerSettings& ls_;
  std::string hsts_;
  std::string ws_key_;  // an extended CONNECT's: the Sec-WebSocket-Key the node gets
  // The request's head (its text and the parsed fields, which point into the text) and the
  // node's answer: given back before a WebSocket's tunnel.
  std::string request_text_;
  http::Recycler<RequestHead>::Ptr request_slot_;
  http::Recycler<ResponseHead>::Ptr response_slot_;
  bool continue_sent_ = false;
};

awaitable<void> StreamExchange::run() {
  st_.rec = http::RequestRecord{.start = w_.now()};
  st_.rec.bytes_received = st_.head_bytes;
  deadline_in(ls_.client_timeout);
  // 1. The head, as an HTTP/1.1 head: the same checks and the same RequestHead.
  if (st_.head.websocket()) ws_key_ = new_websocket_key();
  request_text_ = st_.head.finish(!st_.end_stream, ws_key_);
  const std::string& text = request_text_;
  request_slot_ = w_.request_heads().acquire();
  RequestHead& req = *request_slot_;
  HeadStatus hs =
      text.empty() ? HeadStatus::Bad : http::parse_request_head(text, text.size() + 1, req);
  if (hs != HeadStatus::Complete) {
    co_await answer_error(nullptr, hs == HeadStatus::TooLarge ? 431 : 400,
                          hs == HeadStatus::TooLarge ? "request header too large" : "bad request",
                          "done");
    stop_body();
    co_return;
  }
  req.version = 20;

  // 2. What to do with it.
  const http::Decision d = http::decide(req, http::RequestOrigin{.listener = ls_,
                                                                 .snapshot = *snap_,
                                                                 .tls = info_.tls,
                                                                 .client = info_.peer.address(),
                                                                 .country = info_.country});
  req.host = d.host;
  switch (d.kind) {
    case http::Decision::Kind::Reject:
      co_await answer_error(&req, d.status, d.text, "done");
      break;
    case http::Decision::Kind::Redirect: {
      std::string out;
      http::build_https_redirect(req.host, d.target, false, out);
      const bool ok = co_await answer_text(std::move(out));
      finish(req, 301, ok ? "done" : "client_error");
      break;
    }
    case http::Decision::Kind::NoRoute:
      co_await answer_error(&req, 404, "no route", "done");
      break;
    case http::Decision::Kind::Forbidden:
      co_await answer_error(&req, 403, "forbidden", "done");
      break;
    case http::Decision::Kind::TooLarge:
      st_.rec.pool_name = snap_->route_pool(d.route).name();
      co_await answer_error(&req, 413, "request body too large", "body_too_large");
      break;
    case http::Decision::Kind::Proxy:
      co_await proxy(req, d);
      break;
  }
  stop_body();
}

// What the two halves of a request with a body share (as proxy/http/relay.h's Upload).
struct Upload {
  asio::steady_timer* continue_wait = nullptr;  // while the body waits for the node's 100
  bool stop = false;
  bool body_done = false;
  bool sender_done = false;
  bool answered = false;
  bool early = false;
  bool write_failed = false;
  bool node_failed = false;
  RelayResult result = RelayResult::Ok;
  error_code send_error;
  error_code read_error;
  uint64_t sent = 0;
  uint64_t body_in = 0;
};

void cancel_node(upstream::Connection& c) {
  error_code ignored;
  c.stream.lowest_layer().cancel(ignored);
}

awaitable<void> StreamExchange::proxy(RequestHead& req, const http::Decision& d) {
  using namespace boost::asio::experimental::awaitable_operators;
  const routing::RouteSettings& route = snap_->route(d.route);
  routing::Pool& pool = snap_->route_pool(d.route);
  const uint64_t content_length = req.content_length.value_or(0);
  const bool has_body = req.chunked || content_length > 0;
  st_.rec.pool_name = pool.name();

  // 3. A connection to a node of the pool.
  http::UpstreamAttempt at({w_, st_, st_.upstream, st_.expired, st_.rec.node, st_.rec.node_name},
                           pool, snap_->client_tls(pool), route);
  // st_.upstream points into `at`: it must not outlive it, even when this frame is destroyed
  // without running to its end (the worker stopping).
  struct ForgetUpstream {
    upstream::Stream*& p;
    ~ForgetUpstream() { p = nullptr; }
  } forget_upstream{st_.upstream};
  std::string head;
  http::Exchange x{.req = req,
                   .head = head,
                   .listener = ls_,
                   .route = route,
                   .pool = pool,
                   .upstream = at,
                   .content_length = content_length,
                   .has_body = has_body,
                   .websocket = !ws_key_.empty(),
                   .idempotent = req.method == "GET" || req.method == "HEAD",
                   .client_keep = true,
                   // The client's expectation goes on to the node, as an HTTP/1.1 client's.
                   .expect = req.expect_continue && has_body,
                   .te_trailers = http::iequals(req.get("te"), "trailers")};
  http::write_forward_head(http::ForwardFrom{.snapshot = *snap_,
                                             .client_ip = info_.peer_ip,
                                             .country = info_.country,
                                             .tls = info_.tls},
                           x, d.target);
  http::choose_affinity(x, info_.peer_ip, w_.now());
  bool saw_timeout = false;
  st_.rec.upstream_start = w_.now();
  deadline_in(route.timeouts.response);
  if (!co_await at.get(has_body, saw_timeout)) {
    st_.expired = false;
    if (saw_timeout)
      co_await answer_error(&req, 504, "upstream connect timeout", "timeout");
    else
      co_await answer_error(&req, 503, "no usable node", "no_node");
    co_return;
  }
  st_.drain_timeout = pool.settings().health.drain_timeout;
  http::count_affinity(x, w_.now());
  routing::NodeTraffic& traffic = at.lease().node()->traffic(w_.index());
  response_slot_ = w_.response_heads().acquire();
  ResponseHead& res = *response_slot_;

  // 4. The request to the node, and the head of its answer.
  if (has_body) {
    // The body goes while the node's answer is read: an early answer is not lost.
    Upload u;
    upstream::Connection& up = *at.conn();
    auto send = [&]() -> awaitable<void> {
      // With Expect: 100-continue the head goes alone; the body follows the node's 100, or
      // expect_timeout for a node that never sends one (then the client gets Passeur's 100).
      if (x.expect) {
        deadline_in(route.timeouts.response);
        auto [ec, n] = co_await asio::async_write(up.stream, asio::buffer(head), use_tuple);
        u.sent += n;
        head.clear();
        if (ec) {
          u.result = st_.expired ? RelayResult::Expired : RelayResult::DestError;
          u.write_failed = true;
          u.send_error = ec;
        } else if (!u.stop && !continue_sent_) {
          asio::steady_timer wait(w_.io());
          wait.expires_after(route.timeouts.expect);
          u.continue_wait = &wait;
          co_await wait.async_wait(use_tuple);
          u.continue_wait = nullptr;
          if (!u.stop && !continue_sent_ && st_.in.empty() && !st_.in_end) {
            continue_sent_ = true;
            submit_interim({{":status", "100"}});
          }
        }
        if (u.result != RelayResult::Ok || u.stop) {
          u.sender_done = true;
          if (u.result != RelayResult::Ok && !u.stop && !(u.write_failed && !st_.expired))
            cancel_node(up);
          co_return;
        }
      }
      BodyState body = req.chunked ? BodyState::until_close() : BodyState::length(content_length);
      boost::beast::flat_buffer buf;
      BodySource source(st_);
      u.result = co_await http::relay_body(source, up.stream,
                                           BodyRelay{.in = buf,
                                                     .body = body,
                                                     .head = head,
                                                     .chunked_out = req.chunked,
                                                     .read_timeout = ls_.client_timeout,
                                                     .write_timeout = route.timeouts.response,
                                                     .limit = route.max_body,
                                                     .bytes_out = u.sent,
                                                     .expired = st_.expired,
                                                     .trailers = &st_.in_trailers,
                                                     .bytes_in = &u.body_in,
                                                     .error = &u.send_error,
                                                     .stop = &u.stop,
                                                     .write_failed = &u.write_failed},
                                           deadline_fn());
      if (u.result == RelayResult::Ok) {
        u.body_done = true;
        if (!u.stop) deadline_in(route.timeouts.response);
      }
      u.sender_done = true;
      if (u.result != RelayResult::Ok && !u.stop && !(u.write_failed && !st_.expired))
        cancel_node(up);
    };
    auto answer = [&]() -> awaitable<void> {
      for (;;) {
        HeadStatus hs =
            co_await http::read_head(up.stream, up.buffer, res, http::kMaxResponseHead,
                                     http::kResponseRead, http::parse_response_head, u.read_error);
        if (hs != HeadStatus::Complete) {
          u.node_failed = !u.sender_done && !st_.expired;
          break;
        }
        if (res.status >= 100 && res.status < 200 && res.status != 101) {
          if (u.continue_wait) u.continue_wait->cancel();  // the body goes now
          interim(res);
          up.buffer.consume(res.size);
          continue;
        }
        st_.rec.upstream_end = w_.now();
        u.answered = true;
        u.early = !u.body_done;
        break;
      }
      u.stop = true;
      if (u.continue_wait) u.continue_wait->cancel();
      if (!u.sender_done) {
        st_.stopped_body = true;  // the sender's wait for the client's next DATA ends
        st_.in_signal.cancel();
        cancel_node(up);
      }
    };
    co_await (send() && answer());
    traffic.sent_bytes.add(u.sent);
    st_.rec.bytes_received += u.body_in;
    if (!u.answered) {
      st_.upstream = nullptr;
      const bool timed_out = st_.expired;
      st_.expired = false;
      if (u.result == RelayResult::TooLarge) {
        co_await answer_error(&req, 413, "request body too large", "body_too_large");
      } else if (u.result == RelayResult::SourceBad) {
        co_await answer_error(&req, 400, "bad request body", "bad_body");
      } else if (!u.node_failed && !u.write_failed && u.result != RelayResult::Ok) {
        // The client stopped sending (reset, or fell silent): the node never saw a whole request.
        reset(NGHTTP2_CANCEL);
        finish(req, timed_out ? 408 : 499, timed_out ? "timeout" : "client_error");
      } else if (timed_out) {
        co_await answer_error(&req, 504, "upstream response timeout", "timeout");
      } else {
        co_await answer_error(&req, 502,
                              u.write_failed ? "upstream write failed" : "bad upstream response",
                              u.read_error == asio::error::eof ? "node_fin" : "node_error");
      }
      co_return;
    }
    co_await respond(req, x, res, u.early);
    co_return;
  }

  // Without a body: the head alone, kept for a replay on a new connection.
  for (;;) {
    deadline_in(route.timeouts.response);
    auto [ec, n] = co_await asio::async_write(at.conn()->stream, asio::buffer(head), use_tuple);
    at.lease().node()->traffic(w_.index()).sent_bytes.add(n);
    if (!ec) break;
    const bool timed_out = st_.expired;
    st_.upstream = nullptr;
    if (co_await at.resend_head(head, false, x.idempotent)) break;
    st_.expired = false;
    co_await answer_error(&req, 502, "upstream write failed", timed_out ? "timeout" : "node_error");
    co_return;
  }
  for (;;) {
    error_code ec;
    deadline_in(route.timeouts.response);
    upstream::Connection& up = *at.conn();
    HeadStatus hs = co_await http::read_head(up.stream, up.buffer, res, http::kMaxResponseHead,
                                             http::kResponseRead, http::parse_response_head, ec);
    if (hs != HeadStatus::Complete) {
      st_.upstream = nullptr;
      const bool timed_out = st_.expired;
      st_.expired = false;
      if (st_.closed) {
        finish(req, 499, "client_error");
        co_return;
      }
      if (timed_out) {
        co_await answer_error(&req, 504, "upstream response timeout", "timeout");
        co_return;
      }
      if (hs == HeadStatus::Incomplete && up.buffer.size() == 0 &&
          co_await at.resend_head(head, true, x.idempotent))
        continue;
      co_await answer_error(&req, 502, "bad upstream response",
                            ec == asio::error::eof ? "node_fin" : "node_error");
      co_return;
    }
    if (res.status >= 100 && res.status < 200 && res.status != 101) {
      interim(res);
      up.buffer.consume(res.size);
      continue;
    }
    st_.rec.upstream_end = w_.now();
    break;
  }
  co_await respond(req, x, res, false);
}

// 5. The node's answer to the client, then counted and logged; the node's connection goes back
// to the idle pool when both messages ended cleanly.
awaitable<void> StreamExchange::respond(RequestHead& req, http::Exchange& x, ResponseHead& res,
                                        bool early) {
  std::unique_ptr<upstream::Connection>& up = x.upstream.conn();
  const routing::RouteSettings& route = x.route;
  const unsigned status = res.status;
  if (status == 101) {
    if (x.websocket) co_return co_await upgrade(req, x, res);
    st_.upstream = nullptr;
    co_await answer_error(&req, 502, "unexpected upgrade", "node_error");
    co_return;
  }
  BodyState res_body = BodyState::of_response(req.method, status, res.chunked, res.content_length);
  // The head as an HTTP/1.1 client would get it (the same rewriting and header rules), then as
  // HTTP/2 fields. HTTP/2 frames the body itself: a Content-Length stays, chunked goes.
  std::string out;
  std::string extra;
  http::build_response_head(
      res,
      http::ResponseRewrite{
          .framing = res_body.kind == Framing::Chunked ? Framing::Close : Framing::Length,
          .keep_alive = true,
          .via = ls_.via,
          .extra = http::response_extra(x, res, hsts_, info_.tls, extra)},
      out);
  http::apply_response_rules({*snap_, ls_, route, req, info_.peer_ip}, out);
  const bool backend_keep = !early && res.keep_alive() && res_body.kind != Framing::Close;
  up->buffer.consume(res.size);
  auto conv_slot = w_.response_heads().acquire();
  ResponseHead& conv = *conv_slot;
  if (http::parse_response_head(out, out.size() + 1, conv) != HeadStatus::Complete) {
    st_.upstream = nullptr;
    co_await answer_error(&req, 502, "bad upstream response", "node_error");
    co_return;
  }
  const bool body = res_body.kind != Framing::None;
  // Body bytes already in hand go out with the head.
  if (!submit_head(conv, body, !body || up->buffer.size() == 0)) {
    st_.upstream = nullptr;
    finish(req, status, "client_error");
    co_return;
  }
  std::string trailers;
  if (body) {
    error_code rec;
    bool write_failed = false;
    std::string no_head;
    BodySink sink(st_);
    const RelayResult r = co_await http::relay_body(
        up->stream, sink,
        BodyRelay{.in = up->buffer,
                  .body = res_body,
                  .head = no_head,
                  .chunked_out = false,
                  .read_timeout = route.timeouts.response,
                  .write_timeout = ls_.client_timeout,
                  .limit = 0,
                  .bytes_out = st_.rec.bytes_sent,
                  .expired = st_.expired,
                  .trailers = res_body.kind == Framing::Chunked ? &trailers : nullptr,
                  .error = &rec,
                  .write_failed = &write_failed},
        deadline_fn());
    st_.upstream = nullptr;
    x.upstream.answered(status >= 500);
    if (r != RelayResult::Ok) {  // never pass a truncated body as complete
      reset(NGHTTP2_INTERNAL_ERROR);
      finish(req, status,
             r == RelayResult::Expired ? "timeout"
             : write_failed            ? "client_error"
             : rec == asio::error::eof ? "node_fin"
                                       : "node_error");
      co_return;
    }
    st_.out_trailers = trailer_fields(trailers);
    st_.out_end = true;
    host_.output_ready(st_.id);
  } else {
    st_.upstream = nullptr;
    x.upstream.answered(status >= 500);
  }
  const bool ok = co_await sent();
  if (!ok) reset(NGHTTP2_CANCEL);
  finish(req, status,
         !ok     ? (st_.expired ? "timeout" : "client_error")
         : early ? "early_response"
                 : "done");
  if (ok && backend_keep && up && up->buffer.size() == 0 && snap_ == w_.snapshot()) {
    ++up->requests;
    w_.upstreams().give_back(x.upstream.lease().node(), std::move(up), x.pool.settings().max_idle,
                             w_.now());
  }
}

// A WebSocket over HTTP/2 (RFC 8441): the node's 101 becomes the stream's 200 (without the
// handshake's fields), then the stream's DATA and the node's bytes are tunnelled both ways, as
// after an HTTP/1.1 Upgrade, under the stream's flow control. The end of either side
// (END_STREAM, the node's FIN) is passed on as a half-close; a reset, an error or
// tunnel_timeout of silence ends both (RST_STREAM CANCEL towards the client, the node's
// connection closed).
awaitable<void> StreamExchange::upgrade(RequestHead& req, http::Exchange& x, ResponseHead& res) {
  std::unique_ptr<upstream::Connection>& up = x.upstream.conn();
  // The node must have read the handshake Passeur sent (RFC 6455 4.2.2).
  if (res.get("sec-websocket-accept") != websocket_accept(ws_key_) ||
      !http::iequals(res.upgrade, "websocket")) {
    st_.upstream = nullptr;
    co_await answer_error(&req, 502, "bad upstream upgrade", "node_error");
    co_return;
  }
  std::string out, extra;
  http::build_response_head(
      res,
      http::ResponseRewrite{.framing = Framing::None,
                            .via = ls_.via,
                            .extra = http::response_extra(x, res, hsts_, info_.tls, extra)},
      out);
  up->buffer.consume(res.size);
  auto conv_slot = w_.response_heads().acquire();
  ResponseHead& conv = *conv_slot;
  if (http::parse_response_head(out, out.size() + 1, conv) != HeadStatus::Complete) {
    st_.upstream = nullptr;
    co_await answer_error(&req, 502, "bad upstream response", "node_error");
    co_return;
  }
  std::vector<Field> fields = response_fields(conv);
  fields.front().value = "200";
  std::erase_if(fields, [](const Field& f) { return f.name == "sec-websocket-accept"; });
  // Bytes behind the node's head are the tunnel's first.
  const auto behind = up->buffer.data();
  st_.out.append(static_cast<const char*>(behind.data()), behind.size());
  up->buffer.consume(behind.size());
  if (!submit_fields(fields, true, true)) {
    st_.upstream = nullptr;
    finish(req, 200, "client_error");
    co_return;
  }
  finish(req, 200, "upgrade");
  // A tunnel may stay open for hours: it holds none of the exchange's heads and buffers.
  // Nothing of them is read after this (nghttp2 copied the answer's fields).
  conv_slot.reset();
  std::vector<Field>().swap(fields);
  std::string().swap(out);
  std::string().swap(extra);
  std::string().swap(x.head);
  response_slot_.reset();
  request_slot_.reset();
  std::string().swap(request_text_);
  up->buffer.shrink_to_fit();
  TunnelEnd client(st_);
  co_await http::tunnel(client, up->stream, w_.buffers(), x.route.timeouts.tunnel, deadline_fn());
  st_.upstream = nullptr;
  if (!st_.cut && !st_.expired && st_.out_end && co_await sent()) co_return;
  reset(NGHTTP2_CANCEL);
}

}  // namespace

awaitable<void> serve_stream(StreamHost& host, std::shared_ptr<StreamState> st) {
  StreamExchange exchange(host, *st);
  co_await exchange.run();
  st->upstream = nullptr;
  st->clear_deadline();
}

}  // namespace proxy::h2
