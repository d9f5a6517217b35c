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
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "proxy/http/body_relay.h"
#include "proxy/http/exchange.h"
#include "proxy/http/forward_rules.h"
#include "proxy/http/head_reader.h"
#include "proxy/http/header_rewrite.h"
#include "proxy/http/message_head.h"
#include "proxy/http/session_core.h"
#include "proxy/http/tunnel.h"
#include "proxy/http/upstream_attempt.h"
#include "routing/pool.h"

namespace proxy::http {

// Writes the head the node gets into `x.head` (write_forward_head, exchange.h). When a body
// follows, the client's head bytes first move into `saved_head` (the body is read into the
// buffer that holds them; the access log still reads the head).
template <class Stream>
void build_forward_head(SessionCore<Stream>& s, Exchange& x, std::string_view target, bool tls,
                        std::string& saved_head) {
  write_forward_head(
      ForwardFrom{.snapshot = *s.snap_, .client_ip = s.peer_ip_, .country = s.country_, .tls = tls},
      x, target);
  if (x.has_body) {
    RequestHead& req = x.req;
    const char* base = static_cast<const char*>(s.cbuf_.data().data());
    saved_head.assign(base, req.size);
    rebase(req, base, saved_head.data());
    s.cbuf_.consume(req.size);
    s.pending_head_ = 0;
  }
}

// What the two halves of a request with a body share while both run: the one sending the
// request (head, then body) and the one reading the node's answer. A node may answer before the
// whole body is in (a 413, 401, 403 or 507 refusal): its answer goes to the client at once.
struct Upload {
  bool stop = false;       // the reader is done: the sender stops
  bool body_done = false;  // the whole body went to the node
  bool sender_done = false;
  bool answered = false;  // the final response head is in
  bool early = false;     // ... and came before the whole body went
  bool write_failed = false;
  bool node_failed = false;  // the reader failed first (not on the deadline): the node's fault
  boost::asio::steady_timer* continue_wait = nullptr;  // while the body waits for a 100
  bool continue_sent = false;   // the client has a 100 (Passeur's or the node's)
  bool sender_writing = false;  // the sender writes to the client: interim answers wait
  bool reader_writing = false;  // the reader writes an interim answer to the client
  RelayResult result = RelayResult::Ok;
  HeadStatus head_status = HeadStatus::Incomplete;
  boost::system::error_code send_error;  // of the sender
  boost::system::error_code read_error;  // of the reader
  uint64_t sent = 0;                     // bytes written to the node
  uint64_t body_in = 0;                  // body bytes used from the client, framing included
};

// After an early answer, the rest of the client's body is read and dropped, at most
// kLingerBytes or for kLingerTime, so the client can read the answer before the connection
// closes (a close with unread bytes resets the connection and may cost the client the answer).
// The bound is well above what the sockets' buffers hold on the way (several MiB on loopback)
// plus what a client sends before it reads the answer: over TLS a client that was not
// scheduled for a moment found 1 MiB gone at once and the connection reset.
inline constexpr uint64_t kLingerBytes = 64 * 1024 * 1024;
inline constexpr Millis kLingerTime{2000};

// Cancels what the stages wait for on the client's stream and on the node's.
template <class Stream>
void cancel_client(SessionCore<Stream>& s) {
  boost::system::error_code ignored;
  boost::beast::get_lowest_layer(s.client_).cancel(ignored);
}
inline void cancel_node(upstream::Connection& c) {
  boost::system::error_code ignored;
  c.stream.lowest_layer().cancel(ignored);
}

// The sending half: the head, then (after the node's 100, or expect_timeout, when the client
// asked for one) the body.
template <class Stream>
boost::asio::awaitable<void> send_request(SessionCore<Stream>& s, Exchange& x, Upload& u,
                                          BodyState& body, std::string& trailers) {
  namespace asio = boost::asio;
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  upstream::Connection& up = *x.upstream.conn();
  if (x.expect) {
    s.deadline_in(x.route.timeouts.response);
    auto [ec, n] = co_await asio::async_write(up.stream, asio::buffer(x.head), use_tuple);
    u.sent += n;
    x.head.clear();
    if (ec) {
      u.result = s.expired_ ? RelayResult::Expired : RelayResult::DestError;
      u.write_failed = true;
      u.send_error = ec;
    } else if (!u.stop) {
      asio::steady_timer wait(co_await asio::this_coro::executor);
      wait.expires_after(x.route.timeouts.expect);
      u.continue_wait = &wait;
      auto [wec] = co_await wait.async_wait(use_tuple);
      u.continue_wait = nullptr;
      // No 100 from the node in time: it is taken for one that never sends any, the body goes,
      // and a client still waiting for a 100 gets Passeur's (RFC 9110 10.1.1 allows it).
      if (!wec && !u.stop && !u.continue_sent && !u.reader_writing && s.cbuf_.size() == 0) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        u.continue_sent = u.sender_writing = true;
        s.deadline_in(x.listener.client_timeout);
        auto [cec, cn] = co_await asio::async_write(s.client_, asio::buffer(kContinue), use_tuple);
        u.sender_writing = false;
        s.rec_.bytes_sent += cn;
        if (cec) {
          u.result = s.expired_ ? RelayResult::Expired : RelayResult::SourceError;
          u.send_error = cec;
        }
      }
    }
  }
  if (u.result == RelayResult::Ok && !u.stop) {
    uint64_t written = 0;
    u.result = co_await relay_body(s.client_, up.stream,
                                   BodyRelay{.in = s.cbuf_,
                                             .body = body,
                                             .head = x.head,
                                             .chunked_out = x.req.chunked,
                                             .read_timeout = x.listener.client_timeout,
                                             .write_timeout = x.route.timeouts.response,
                                             .limit = x.route.max_body,
                                             .bytes_out = written,
                                             .expired = s.expired_,
                                             .trailers = &trailers,
                                             .bytes_in = &u.body_in,
                                             .error = &u.send_error,
                                             .stop = &u.stop,
                                             .write_failed = &u.write_failed},
                                   s.deadline_fn());
    u.sent += written;
    if (u.result == RelayResult::Ok) {
      u.body_done = true;
      if (!u.stop) s.deadline_in(x.route.timeouts.response);
    }
  }
  u.sender_done = true;
  // The body cannot go on: the reader stops too, unless the node itself failed (it may have
  // answered and closed: the reader gets that answer).
  if (u.result != RelayResult::Ok && !u.stop && !(u.write_failed && !s.expired_)) cancel_node(up);
}

// The reading half: interim answers go to the client; the final head ends the sending half
// when it is still at work.
template <class Stream>
boost::asio::awaitable<void> read_answer(SessionCore<Stream>& s, Exchange& x, Upload& u,
                                         ResponseHead& res) {
  namespace asio = boost::asio;
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  upstream::Connection& up = *x.upstream.conn();
  for (;;) {
    u.head_status = co_await read_head(up.stream, up.buffer, res, kMaxResponseHead, kResponseRead,
                                       parse_response_head, u.read_error);
    if (u.head_status != HeadStatus::Complete) {
      u.node_failed = !u.sender_done && !s.expired_;
      break;
    }
    if (res.status >= 100 && res.status < 200 && res.status != 101) {
      if (u.continue_wait) u.continue_wait->cancel();  // the body goes now
      // A 100 after Passeur's own is not repeated; nor does an interim answer cross a write of
      // the sender.
      const bool repeat = res.status == 100 && u.continue_sent;
      if (res.status == 100) u.continue_sent = true;
      std::string interim;
      if (x.req.version == 11 && !repeat && !u.sender_writing)
        build_response_head(res, ResponseRewrite{.framing = Framing::None, .via = x.listener.via},
                            interim);
      up.buffer.consume(res.size);
      if (!interim.empty()) {
        u.reader_writing = true;
        auto [wec, wn] = co_await asio::async_write(s.client_, asio::buffer(interim), use_tuple);
        u.reader_writing = false;
        s.rec_.bytes_sent += wn;
      }
      continue;
    }
    s.rec_.upstream_end = s.w_.now();
    u.answered = true;
    u.early = !u.body_done;
    break;
  }
  u.stop = true;
  if (u.continue_wait) u.continue_wait->cancel();
  if (!u.sender_done) {
    cancel_client(s);
    cancel_node(up);
  }
}

// Reads and drops what the client still sends after an early answer (see kLingerBytes).
template <class Stream>
boost::asio::awaitable<void> linger(SessionCore<Stream>& s) {
  namespace asio = boost::asio;
  if constexpr (std::is_same_v<Stream, asio::ip::tcp::socket>) {
    boost::system::error_code ignored;
    s.client_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }
  s.rec_.bytes_received += s.cbuf_.size();
  s.cbuf_.consume(s.cbuf_.size());
  s.deadline_in(kLingerTime);
  uint64_t dropped = 0;
  while (dropped < kLingerBytes) {
    auto [ec, n] = co_await s.client_.async_read_some(s.cbuf_.prepare(kRelayReadBulk),
                                                      asio::as_tuple(asio::use_awaitable));
    dropped += n;
    if (ec) break;
  }
  s.rec_.bytes_received += dropped;
  s.cbuf_.consume(s.cbuf_.size());
  s.expired_ = false;
}

// Relays the request `x` over the connection its upstream holds, and the answer back. Returns
// whether the client connection stays open.
template <class Stream>
boost::asio::awaitable<bool> relay(SessionCore<Stream>& s, Exchange& x) {
  namespace asio = boost::asio;
  using boost::system::error_code;
  using namespace boost::asio::experimental::awaitable_operators;
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  RequestHead& req = x.req;
  std::string& head = x.head;
  const ListenerSettings& ls = x.listener;
  const routing::RouteSettings& route = x.route;
  routing::NodeLease& lease = x.upstream.lease();
  std::unique_ptr<upstream::Connection>& up = x.upstream.conn();
  const bool has_body = x.has_body;
  auto res_slot = s.w_.response_heads().acquire();
  ResponseHead& res = *res_slot;
  bool have_head = false;  // the final head is in `res` already
  bool early = false;      // it came before the whole request body

  if (has_body) {
    // The body goes while the node's answer is read: an early answer is not lost.
    BodyState req_body = req.chunked ? BodyState::chunked() : BodyState::length(x.content_length);
    std::string trailers;
    Upload u;
    co_await (send_request(s, x, u, req_body, trailers) && read_answer(s, x, u, res));
    s.node_traffic(*lease.node()).sent_bytes.add(u.sent);
    s.rec_.bytes_received += u.body_in;
    if (u.answered) {
      have_head = true;
      early = u.early;
    } else {
      s.upstream_ = nullptr;
      const bool client_gone = !u.node_failed && !u.write_failed && u.result != RelayResult::Ok;
      const bool timed_out = s.expired_;
      s.expired_ = false;
      switch (u.result) {
        case RelayResult::TooLarge:
          co_return co_await s.answer_error(req, 413, "request body too large", true,
                                            "body_too_large");
        case RelayResult::SourceBad:
          co_return co_await s.answer_error(req, 400, "bad chunked body", true, "bad_body");
        default:
          break;
      }
      if (client_gone) {
        // The client stopped sending: the node never sees a whole request. Logged as nginx
        // does when a client goes away before its answer (499), or 408 when it fell silent.
        s.finish_request(req, timed_out ? 408 : 499,
                         timed_out                          ? "timeout"
                         : u.send_error == asio::error::eof ? "client_fin"
                                                            : "client_error");
        co_return false;
      }
      if (timed_out)
        co_return co_await s.answer_error(req, 504, "upstream response timeout", true, "timeout");
      co_return co_await s.answer_error(
          req, 502, u.write_failed ? "upstream write failed" : "bad upstream response", true,
          u.read_error == asio::error::eof ? "node_fin" : "node_error");
    }
  } else {
    // Send the request head alone (kept for a replay).
    for (;;) {
      s.deadline_in(route.timeouts.response);
      auto [ec, n] = co_await asio::async_write(up->stream, asio::buffer(head), use_tuple);
      s.node_traffic(*lease.node()).sent_bytes.add(n);
      if (!ec) break;
      const bool timed_out = s.expired_;
      s.upstream_ = nullptr;
      if (co_await x.upstream.resend_head(head, false, x.idempotent)) break;
      s.expired_ = false;
      co_return co_await s.answer_error(req, 502, "upstream write failed", true,
                                        timed_out ? "timeout" : "node_error");
    }
  }

  // The response. Interim 1xx answers are passed on and the final one is read next.
  for (;;) {
    if (!have_head) {
      error_code ec;
      s.deadline_in(route.timeouts.response);
      HeadStatus st = co_await read_head(up->stream, up->buffer, res, kMaxResponseHead,
                                         kResponseRead, parse_response_head, ec);
      if (st != HeadStatus::Complete) {
        s.upstream_ = nullptr;
        bool timed_out = s.expired_;
        s.expired_ = false;
        if (timed_out)
          co_return co_await s.answer_error(req, 504, "upstream response timeout", true, "timeout");
        // Closed before any byte of the response.
        if (st == HeadStatus::Incomplete && !has_body && up->buffer.size() == 0 &&
            co_await x.upstream.resend_head(head, true, x.idempotent))
          continue;
        co_return co_await s.answer_error(req, 502, "bad upstream response", true,
                                          ec == asio::error::eof ? "node_fin" : "node_error");
      }
      s.rec_.upstream_end = s.w_.now();
    }
    have_head = false;
    const unsigned status = res.status;

    if (status >= 100 && status < 200 && status != 101) {
      std::string interim;
      if (req.version == 11)  // HTTP/1.0 clients do not expect interim responses
        build_response_head(res, ResponseRewrite{.framing = Framing::None, .via = ls.via}, interim);
      up->buffer.consume(res.size);
      if (!interim.empty()) {
        s.deadline_in(ls.client_timeout);
        auto [wec, wn] = co_await asio::async_write(s.client_, asio::buffer(interim), use_tuple);
        s.rec_.bytes_sent += wn;
        if (wec) {
          s.upstream_ = nullptr;
          s.finish_request(req, 499, s.expired_ ? "timeout" : "client_error");
          co_return false;
        }
      }
      continue;
    }

    if (status == 101) {
      if (!x.websocket) {
        s.upstream_ = nullptr;
        co_return co_await s.answer_error(req, 502, "unexpected upgrade", true, "node_error");
      }
      std::string out, extra;
      build_response_head(
          res,
          ResponseRewrite{
              .framing = Framing::None,
              .via = ls.via,
              .extra = response_extra(
                  x, res, s.hsts_, !std::is_same_v<Stream, boost::asio::ip::tcp::socket>, extra)},
          out);
      up->buffer.consume(res.size);
      s.cbuf_.consume(s.pending_head_);
      s.pending_head_ = 0;
      // Bytes that arrived behind either head belong to the tunnel.
      std::array<asio::const_buffer, 2> to_client{asio::buffer(out), up->buffer.data()};
      s.deadline_in(ls.client_timeout);
      auto [wec, wn] = co_await asio::async_write(s.client_, to_client, use_tuple);
      s.rec_.bytes_sent += wn;
      up->buffer.consume(up->buffer.size());
      s.finish_request(req, 101, wec ? "client_error" : "upgrade");
      if (!wec && s.cbuf_.size()) {
        auto [uec, un] = co_await asio::async_write(up->stream, s.cbuf_.data(), use_tuple);
        wec = uec;
        s.cbuf_.consume(s.cbuf_.size());
      }
      if (!wec) {
        // A tunnel may stay open for hours: it holds none of the exchange's heads and buffers
        // (the request and response heads go back to the worker, the read buffers are freed).
        // Nothing of them is read after this.
        std::string().swap(out);
        std::string().swap(extra);
        std::string().swap(head);
        res_slot.reset();
        if (x.request_slot) x.request_slot->reset();
        s.cbuf_.shrink_to_fit();
        up->buffer.shrink_to_fit();
        co_await tunnel(s.client_, up->stream, s.w_.buffers(), route.timeouts.tunnel,
                        s.deadline_fn());
      }
      s.upstream_ = nullptr;
      co_return false;
    }

    // Framing towards the client (RFC 9112 6.3). A body delimited by the backend's close is
    // re-framed as chunks for an HTTP/1.1 client, whose connection then stays usable.
    BodyState res_body =
        BodyState::of_response(req.method, status, res.chunked, res.content_length);
    const bool http10 = req.version == 10;
    Framing out_framing = res_body.kind;
    if (out_framing == Framing::Chunked || out_framing == Framing::Close)
      out_framing = http10 ? Framing::Close : Framing::Chunked;
    // After an early answer the rest of the request body is not read: the connection closes.
    const bool keep = x.client_keep && !early && out_framing != Framing::Close && !s.close_after_ &&
                      !s.w_.stopping();
    std::string out, extra;
    build_response_head(
        res,
        ResponseRewrite{
            .framing = out_framing,
            .keep_alive = keep,
            .client_http10 = http10,
            .via = ls.via,
            .extra = response_extra(x, res, s.hsts_,
                                    !std::is_same_v<Stream, boost::asio::ip::tcp::socket>, extra)},
        out);
    apply_response_rules({*s.snap_, ls, route, req, s.peer_ip_}, out);
    const bool backend_keep = !early && res.keep_alive() && res_body.kind != Framing::Close;
    up->buffer.consume(res.size);
    // Trailers go on to a client that takes them (TE: trailers), else they are dropped.
    std::string trailers;
    const bool pass_trailers =
        x.te_trailers && out_framing == Framing::Chunked && res_body.kind == Framing::Chunked;
    error_code rec;
    bool write_failed = false;
    RelayResult r = co_await relay_body(up->stream, s.client_,
                                        BodyRelay{.in = up->buffer,
                                                  .body = res_body,
                                                  .head = out,
                                                  .chunked_out = out_framing == Framing::Chunked,
                                                  .read_timeout = route.timeouts.response,
                                                  .write_timeout = ls.client_timeout,
                                                  .limit = 0,
                                                  .bytes_out = s.rec_.bytes_sent,
                                                  .expired = s.expired_,
                                                  .trailers = pass_trailers ? &trailers : nullptr,
                                                  .error = &rec,
                                                  .write_failed = &write_failed},
                                        s.deadline_fn());
    s.upstream_ = nullptr;
    x.upstream.answered(status >= 500);
    if (r != RelayResult::Ok) {  // never pass a truncated body as complete
      s.finish_request(req, status,
                       r == RelayResult::Expired ? "timeout"
                       : write_failed            ? "client_error"
                       : rec == asio::error::eof ? "node_fin"
                                                 : "node_error");
      co_return false;
    }
    if (early) {
      co_await linger(s);
      s.finish_request(req, status, "early_response");
      co_return false;
    }
    s.finish_request(req, status, keep ? "keepalive" : "done");

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
