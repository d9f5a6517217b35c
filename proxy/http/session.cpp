#include "proxy/http/session.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <cerrno>

#include "proxy/h2/h2_session.h"
#include "proxy/http/decide.h"
#include "proxy/http/head_reader.h"
#include "proxy/http/header_rewrite.h"
#include "proxy/http/message_head.h"
#include "proxy/http/relay.h"
#include "proxy/http/request_log.h"
#include "proxy/http/session_core.h"
#include "proxy/http/te_field.h"
#include "proxy/http/upstream_attempt.h"
#include "proxy/worker_context.h"
#include "routing/node_state.h"
#include "tls/tls_stream.h"

namespace proxy::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Read size while waiting for the next request on a keep-alive connection: most request
// heads fit; a larger one continues in the head read.
constexpr size_t kIdleBuffer = 512;
constexpr size_t kHeadRead = 4096;

// The life of one client connection: waiting for requests between them (without a coroutine
// frame while idle), then for each request its stages: read and check the head, decide
// (decide.h), get an upstream (upstream_attempt.h), relay (relay.h), count and log
// (request_log.h).
template <class Stream>
class Session final : public SessionCore<Stream> {
  using Core = SessionCore<Stream>;
  using Core::answer_error;
  using Core::cbuf_;
  using Core::client_;
  using Core::close_after_;
  using Core::country_;
  using Core::deadline_in;
  using Core::drain_timeout_;
  using Core::expired_;
  using Core::finish_request;
  using Core::first_;
  using Core::hsts_;
  using Core::idle_;
  using Core::listener;
  using Core::listener_;
  using Core::peer_;
  using Core::peer_ip_;
  using Core::pending_head_;
  using Core::rec_;
  using Core::send_error;
  using Core::snap_;
  using Core::upstream_;
  using Core::w_;

 public:
  Session(WorkerContext& w, Stream stream, size_t listener, tcp::endpoint peer,
          routing::Country country)
      : Core(w, std::move(stream), listener, peer, country) {
    peer_ip_ = peer_.address().to_string();
    w_.track(*this);
    w_.listener_traffic(listener_).active.add(1);
  }
  ~Session() { w_.listener_traffic(listener_).active.add(-1); }

  // Waits for the next request without any coroutine frame, parser or buffer: an idle
  // keep-alive connection is this object, its socket and one pending wait, whose handler owns
  // the session. The socket stays registered edge-triggered, so going idle and waking up cost
  // no epoll_ctl. When bytes arrive, a coroutine serves the requests they start.
  static void wait_for_request(std::unique_ptr<Session> self) {
    Session& s = *self;
    if (s.close_after_ || s.w_.stopping()) return close(std::move(self));
    if (s.cbuf_.size() > 0) return serve(std::move(self));
    s.expired_ = false;
    const ListenerSettings& ls = s.w_.snapshot()->config().listeners[s.listener_];
    s.deadline_in(s.first_ ? ls.header_timeout : ls.keepalive_timeout);
    // No buffer while idle, as nginx does. First a read that does not wait: under load the next
    // request is often there already (one system call, as a pending read's first attempt).
    // Otherwise a readiness wait, then the read. Asio re-arms the descriptor for a wait
    // (EPOLL_CTL_MOD), and epoll then reports a socket that is already readable, so bytes that
    // arrive in between are never missed; over TLS, the stream's wait also ends at once for
    // bytes it holds already (decrypted, or records read ahead), which no readiness event would
    // announce. Measured under wrk -c50: 0.13 more system calls per request than a pending
    // read, for 540 bytes less per idle connection.
    error_code ec;
    if (s.read_ready(ec)) return woken(std::move(self), ec);
    s.cbuf_.shrink_to_fit();
    idle_wait(std::move(self));
  }

  // Waits until the client's stream is readable, then reads. A wake-up with nothing to read
  // (an event for bytes already read, part of a TLS record, a TLS 1.3 KeyUpdate) waits again,
  // under the same deadline.
  static void idle_wait(std::unique_ptr<Session> self) {
    Session& s = *self;
    s.idle_ = true;
    wait_readable(s.client_, [self = std::move(self)](error_code ec) mutable {
      Session& s = *self;
      s.idle_ = false;
      if (!ec && !s.read_ready(ec)) return idle_wait(std::move(self));
      woken(std::move(self), ec);
    });
  }

  // Reads what is there without waiting. False when nothing was (and no error).
  bool read_ready(error_code& ec) {
    auto buf = cbuf_.prepare(kIdleBuffer);
    if constexpr (kTls) {
      size_t n = 0;
      if (!client_.read_now(buf, n, ec)) return false;
      cbuf_.commit(n);
      return true;
    } else {
      ssize_t n = ::recv(client_.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n > 0) {
        cbuf_.commit(static_cast<size_t>(n));
        return true;
      }
      if (n == 0) {
        ec = asio::error::eof;
        return true;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      if (errno == EINTR) return read_ready(ec);
      ec = error_code(errno, boost::system::system_category());
      return true;
    }
  }

  // A socket is readable when the kernel has bytes; a TLS stream also when it holds some itself.
  template <class Handler>
  static void wait_readable(Stream& stream, Handler&& handler) {
    if constexpr (kTls) {
      stream.async_wait_readable(std::forward<Handler>(handler));
    } else {
      stream.async_wait(tcp::socket::wait_read, std::forward<Handler>(handler));
    }
  }

  // The idle wait ended: bytes of a request are in cbuf_, or the client left, or the wait was
  // cancelled (idle timeout, shutdown).
  static void woken(std::unique_ptr<Session> self, error_code ec) {
    Session& s = *self;
    if (ec == asio::error::eof || (!ec && (s.close_after_ || s.w_.stopping())))
      return close(std::move(self));
    if (ec) return;  // reset or timed out: nothing to say
    serve(std::move(self));
  }

  // Ends the connection. Over TLS a close_notify goes first (without waiting for the peer's):
  // the client can tell a complete response from a cut one, and a TLS 1.2 session stays in
  // the resumption cache (OpenSSL drops sessions of connections closed without it).
  static void close(std::unique_ptr<Session> self) {
    if constexpr (kTls) {
      Session& s = *self;
      s.deadline_in(Millis(1000));
      s.client_.async_shutdown([self = std::move(self)](error_code) {});
    }
  }

  // TLS: the handshake first, within the listener's handshake_timeout; a failure closes the
  // connection (a client speaking plain HTTP to the TLS port gets a clean close).
  static void handshake(std::unique_ptr<Session> self) {
    Session& s = *self;
    s.deadline_in(s.w_.snapshot()->config().listeners[s.listener_].handshake_timeout);
    s.client_.async_handshake([self = std::move(self)](error_code ec) mutable {
      Session& s = *self;
      ListenerTraffic& t = s.w_.listener_traffic(s.listener_);
      if (ec) {
        auto why = tls::classify_handshake_error(ec, s.expired_);
        t.handshakes_failed[static_cast<size_t>(why)].add();
        return;
      }
      t.handshakes_ok[static_cast<size_t>(s.client_.version())].add();
      if constexpr (kTls) {
        if (s.client_.alpn_h2()) {
          // ALPN chose HTTP/2: the connection goes on as an HTTP/2 session.
          return h2::start_h2_session(s.w_, std::move(s.client_), s.listener_, s.peer_, s.country_);
        }
      }
      wait_for_request(std::move(self));
    });
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  static void serve(std::unique_ptr<Session> self) {
    Session& s = *self;
    asio::co_spawn(s.w_.io(), s.serve_buffered(),
                   [self = std::move(self)](std::exception_ptr e, bool keep) mutable {
                     if (e) return;
                     if (!keep) return close(std::move(self));
                     wait_for_request(std::move(self));
                   });
  }

  // Serves requests while their bytes are already here (pipelining), then returns whether the
  // connection stays open.
  awaitable<bool> serve_buffered() {
    bool keep = true;
    do {
      keep = co_await serve_one();
      first_ = false;
    } while (keep && cbuf_.size() > 0 && !close_after_ && !w_.stopping());
    co_return keep;
  }

 public:
  void expire() override {
    expired_ = true;
    cancel_stream(client_);
    if (upstream_) {
      error_code ignored;
      upstream_->lowest_layer().cancel(ignored);
    }
  }

  // A draining node's in-flight work is cut once its drain_timeout has passed.
  bool drain_cut_due(Clock::time_point now) const override {
    return rec_.node && routing::drain_expired(*rec_.node, drain_timeout_, now);
  }

  void stop_gracefully() override {
    close_after_ = true;
    if (idle_) cancel_stream(client_);
  }

 private:
  template <class S>
  static void cancel_stream(S& s) {
    error_code ignored;
    beast::get_lowest_layer(s).cancel(ignored);
  }

  awaitable<bool> serve_one();
  // A request refused before routing (malformed, too large, timed out): counted, then closed.
  awaitable<bool> reject(unsigned status, std::string_view text);
  // `req_slot` holds the request's head, given back before a tunnel.
  awaitable<bool> proxy_request(Recycler<RequestHead>::Ptr& req_slot, std::string_view target,
                                size_t route_index);
};

template <class Stream>
awaitable<bool> Session<Stream>::reject(unsigned status, std::string_view text) {
  bool keep = co_await send_error(status, text, true);
  count_rejected(w_, listener_, rec_, status);
  co_return keep;
}

template <class Stream>
awaitable<bool> Session<Stream>::serve_one() {
  // Each request sees the newest config. Copied only when it changed: the snapshot's reference
  // count is shared by every worker and would otherwise bounce between cores on every request.
  if (snap_.get() != w_.snapshot().get()) {
    snap_ = w_.snapshot();
    const std::string& hsts = listener().hsts;
    hsts_ = kTls && !hsts.empty() ? "Strict-Transport-Security: " + hsts + "\r\n" : "";
  }
  const ListenerSettings& ls = listener();

  rec_ = RequestRecord{.start = w_.now()};
  deadline_in(ls.header_timeout);

  // 1. The head: read, parsed and checked.
  auto req_slot = w_.request_heads().acquire();
  RequestHead& req = *req_slot;
  error_code ec;
  HeadStatus st =
      co_await read_head(client_, cbuf_, req, ls.max_header, kHeadRead, parse_request_head, ec);
  switch (st) {
    case HeadStatus::Complete:
      break;
    case HeadStatus::Incomplete:
      if (expired_) co_return co_await reject(408, "request header timeout");
      co_return false;  // the client went away during the head
    case HeadStatus::TooLarge:
      co_return co_await reject(431, "request header too large");
    case HeadStatus::BadVersion:
      if constexpr (!kTls) {
        // h2c with prior knowledge: the connection preface starts like a request head.
        if (first_ && ls.http2 == Http2::PriorKnowledge &&
            buffered(cbuf_).starts_with("PRI * HTTP/2.0\r\n\r\n")) {
          h2::start_h2c_session(w_, std::move(client_), listener_, peer_, country_,
                                buffered(cbuf_));
          co_return false;
        }
      }
      co_return co_await reject(505, "HTTP version not supported");
    case HeadStatus::Bad:
      co_return co_await reject(400, "bad request");
  }
  pending_head_ = req.size;
  rec_.bytes_received = req.size;

  // 2. What to do with it.
  const Decision d = decide(req, RequestOrigin{.listener = ls,
                                               .snapshot = *snap_,
                                               .tls = kTls,
                                               .client = peer_.address(),
                                               .country = country_});
  req.host = d.host;
  // A request with a body we won't read cannot keep the connection in sync.
  const bool body = req.chunked || req.content_length.value_or(0) > 0;
  bool keep = false;
  switch (d.kind) {
    case Decision::Kind::Reject:  // the head was read: logged too
      co_return co_await answer_error(req, d.status, d.text, true, "done");
    case Decision::Kind::Redirect: {
      std::string out;
      build_https_redirect(req.host, d.target, body || !req.keep_alive(), out);
      deadline_in(ls.client_timeout);
      auto [wec, wn] = co_await asio::async_write(client_, asio::buffer(out), use_tuple);
      rec_.bytes_sent = wn;
      finish_request(req, 301,
                     wec                         ? "client_error"
                     : !body && req.keep_alive() ? "keepalive"
                                                 : "done");
      cbuf_.consume(pending_head_);
      pending_head_ = 0;
      co_return !wec && !body && req.keep_alive();
    }
    case Decision::Kind::NoRoute:
      keep = co_await answer_error(req, 404, "no route", body || !req.keep_alive(), "done");
      break;
    case Decision::Kind::Forbidden:
      keep = co_await answer_error(req, 403, "forbidden", body || !req.keep_alive(), "done");
      break;
    case Decision::Kind::TooLarge:
      rec_.pool_name = snap_->route_pool(d.route).name();
      keep = co_await answer_error(req, 413, "request body too large", true, "body_too_large");
      break;
    case Decision::Kind::Proxy:
      keep = co_await proxy_request(req_slot, d.target, d.route);
      break;
  }
  cbuf_.consume(pending_head_);
  pending_head_ = 0;
  co_return keep;
}

template <class Stream>
awaitable<bool> Session<Stream>::proxy_request(Recycler<RequestHead>::Ptr& req_slot,
                                               std::string_view target, size_t route_index) {
  RequestHead& req = *req_slot;
  const routing::RouteSettings& route = snap_->route(route_index);
  routing::Pool& pool = snap_->route_pool(route_index);
  const ListenerSettings& ls = listener();

  const uint64_t content_length = req.content_length.value_or(0);
  const bool has_body = req.chunked || content_length > 0;
  rec_.pool_name = pool.name();

  // 3. A connection to a node of the pool.
  UpstreamAttempt at(this->upstream_owner(), pool, snap_->client_tls(pool), route);
  std::string head;
  Exchange x{.req = req,
             .head = head,
             .listener = ls,
             .route = route,
             .pool = pool,
             .upstream = at,
             .content_length = content_length,
             .has_body = has_body,
             .websocket = req.connection_upgrade && iequals(req.upgrade, "websocket"),
             // A request that may be sent again when its connection failed before any answer.
             .idempotent = req.method == "GET" || req.method == "HEAD",
             .request_slot = &req_slot};
  x.client_keep = req.keep_alive() && !x.websocket;
  // An HTTP/1.1 client's expectation goes on to the node, which is assumed to speak HTTP/1.1.
  x.expect = req.expect_continue && has_body && req.version == 11;
  x.te_trailers = req.version == 11 && accepts_trailers(req.get("te"));
  std::string saved_head;
  build_forward_head(*this, x, target, kTls, saved_head);
  // Affinity, read once the head is where it stays (build_forward_head moves it when a body
  // follows).
  choose_affinity(x, peer_ip_, w_.now());

  bool saw_timeout = false;
  rec_.upstream_start = w_.now();
  if (!co_await at.get(has_body, saw_timeout)) {
    if (saw_timeout)
      co_return co_await answer_error(req, 504, "upstream connect timeout", true, "timeout");
    co_return co_await answer_error(req, 503, "no usable node", has_body || !x.client_keep,
                                    "no_node");
  }
  drain_timeout_ = pool.settings().health.drain_timeout;
  count_affinity(x, w_.now());

  // 4. The request to the node and its answer back; 5. counted and logged as it ends.
  co_return co_await relay(*this, x);
}

}  // namespace

void start_http_session(WorkerContext& worker, tcp::socket socket, size_t listener,
                        tcp::endpoint peer, routing::Country country) {
  Session<tcp::socket>::wait_for_request(
      std::make_unique<Session<tcp::socket>>(worker, std::move(socket), listener, peer, country));
}

void start_https_session(WorkerContext& worker, tls::Stream stream, size_t listener,
                         tcp::endpoint peer, routing::Country country) {
  Session<tls::Stream>::handshake(
      std::make_unique<Session<tls::Stream>>(worker, std::move(stream), listener, peer, country));
}

}  // namespace proxy::http
