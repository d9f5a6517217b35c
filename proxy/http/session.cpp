#include "proxy/http/session.h"

#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "proxy/config/address.h"
#include "proxy/health/passive.h"
#include "proxy/http/access_line.h"
#include "proxy/http/body_relay.h"
#include "proxy/http/head_reader.h"
#include "proxy/http/header_rewrite.h"
#include "proxy/http/host.h"
#include "proxy/http/message_head.h"
#include "proxy/http/tunnel.h"
#include "proxy/peek.h"
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

// Upstream response heads may be larger than a client's: cookies set by a cloud suite.
constexpr size_t kMaxResponseHead = 64 * 1024;
constexpr size_t kMaxTries = 8;  // nodes tried for one request when connects fail
// Read size while waiting for the next request on a keep-alive connection: most request
// heads fit; a larger one continues in the head read.
constexpr size_t kIdleBuffer = 512;
constexpr size_t kHeadRead = 4096;
// First read of a response: its head and, for most pages, scripts and images, the whole body,
// passed on to the client in one write. A 16 KiB read would split a 16 KiB file in two reads and
// two writes. The buffer belongs to the backend connection (at most `max_idle` per node).
constexpr size_t kResponseRead = 32 * 1024;
// Requests under this path on a redirecting listener go to the route made for them (certbot).
constexpr std::string_view kAcmePrefix = "/.well-known/acme-challenge/";

// One request's way to a node: its lease, its connection and the nodes it tried.
struct Attempt {
  routing::Pool& pool;
  const tls::ClientTls* tls;
  const routing::RouteSettings& route;
  routing::NodeLease lease;
  std::unique_ptr<UpstreamConnection> up;
  std::array<const routing::Node*, kMaxTries> tried{};
  size_t ntried = 0;
  bool reused = false;    // `up` came from the idle pool
  bool replayed = false;  // the one retry on another node after a fresh connection died

  std::span<const routing::Node* const> excluded() const { return {tried.data(), ntried}; }
};

template <class Stream>
class Session final : public TrackedConnection {
 public:
  Session(WorkerContext& w, Stream stream, size_t listener, tcp::endpoint peer,
          routing::Country country)
      : w_(w), client_(std::move(stream)), listener_(listener), peer_(peer), country_(country) {
    peer_ip_ = peer_.address().to_string();
    w_.connections().push_back(*this);
    w_.listener_traffic(listener_).active.add(1);
  }
  ~Session() { w_.listener_traffic(listener_).active.add(-1); }

  // Waits for the next request without any coroutine frame, parser or large buffer: an idle
  // keep-alive connection is this object, its socket and one pending operation, whose handler
  // owns the session. The socket stays registered edge-triggered, so going idle and waking up
  // cost no epoll_ctl. When bytes arrive, a coroutine serves the requests they start.
  static void wait_for_request(std::unique_ptr<Session> self) {
    Session& s = *self;
    if (s.close_after_ || s.w_.stopping()) return close(std::move(self));
    if (s.cbuf_.size() > 0) return serve(std::move(self));
    s.expired_ = false;
    const ListenerSettings& ls = s.w_.snapshot()->config().listeners[s.listener_];
    s.deadline_in(s.first_ ? ls.header_timeout : ls.keepalive_timeout);
    if constexpr (kTls) {
      if (!s.client_.offloaded()) {
        // OpenSSL keeps the connection: a pending read with a 512-byte buffer (OpenSSL may
        // hold decrypted bytes that no readiness event would announce).
        if (s.cbuf_.capacity() > kIdleBuffer) s.cbuf_.shrink_to_fit();
        s.idle_ = true;
        s.client_.async_read_some(s.cbuf_.prepare(kIdleBuffer),
                                  [self = std::move(self)](error_code ec, size_t n) mutable {
                                    self->idle_ = false;
                                    self->cbuf_.commit(n);
                                    woken(std::move(self), ec);
                                  });
        return;
      }
    }
    // Plain TCP, and TLS records Passeur protects itself, hold no buffer while idle, as nginx
    // does. First a read that does not wait: under load the next request is often there
    // already (one system call, as a pending read's first attempt). Otherwise a readiness
    // wait, then the read. Asio re-arms the descriptor for a wait (EPOLL_CTL_MOD), and epoll
    // then reports a socket that is already readable, so bytes that arrive in between are
    // never missed. Measured under wrk -c50: 0.13 more system calls per request than a
    // pending read, for 540 bytes less per idle connection.
    error_code ec;
    if (s.read_ready(ec)) return woken(std::move(self), ec);
    s.cbuf_.shrink_to_fit();
    idle_wait(std::move(self));
  }

  // Waits until the client's socket is readable, then reads. A wake-up with nothing to read
  // (an event for bytes already read, or part of a TLS record) waits again, under the same
  // deadline.
  static void idle_wait(std::unique_ptr<Session> self) {
    Session& s = *self;
    s.idle_ = true;
    s.client_.lowest_layer().async_wait(tcp::socket::wait_read,
                                        [self = std::move(self)](error_code ec) mutable {
                                          Session& s = *self;
                                          s.idle_ = false;
                                          if (!ec && !s.read_ready(ec))
                                            return idle_wait(std::move(self));
                                          woken(std::move(self), ec);
                                        });
  }

  // Reads what is there without waiting. False when nothing was (and no error).
  bool read_ready(error_code& ec) {
    auto buf = cbuf_.prepare(kIdleBuffer);
    if constexpr (kTls) {
      const tls::detail::Attempt a = client_.read_now(buf);
      if (a.want != tls::detail::Want::nothing) return false;
      ec = a.ec;
      cbuf_.commit(a.bytes);
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
      upstream_->socket().cancel(ignored);
    }
  }

  // A draining node's in-flight work is cut once its drain_timeout has passed.
  bool drain_cut_due(Clock::time_point now) const override {
    return current_node_ && routing::drain_expired(*current_node_, drain_timeout_, now);
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
  const ListenerSettings& listener() const { return snap_->config().listeners[listener_]; }
  void deadline_in(Millis d) { set_deadline(w_.now() + d); }
  auto deadline_fn() {
    return [this](Millis d) { deadline_in(d); };
  }

  awaitable<bool> serve_one();
  awaitable<bool> send_error(unsigned status, std::string_view text, bool close);
  // A request refused before routing (malformed, too large, timed out): counted, then closed.
  awaitable<bool> reject(unsigned status, std::string_view text);
  awaitable<bool> proxy_request(RequestHead& req, std::string_view target, size_t route_index);
  awaitable<bool> connect(routing::Node& node, Millis timeout, const tls::ClientTls* tls,
                          std::unique_ptr<UpstreamConnection>& out, bool& timed_out);
  // Every request ends here, whatever its outcome: counted, then logged.
  void finish_request(const RequestHead& req, unsigned status);
  void log_request(const RequestHead& req, unsigned status, Clock::time_point end);
  routing::NodeTraffic& node_traffic(const routing::Node& node) { return node.traffic(w_.index()); }
  // The request moves on after a failure on `node`.
  void count_retry(const routing::Node* node) { node_traffic(*node).retries.add(); }
  awaitable<bool> replace_connection(Attempt& a);
  awaitable<bool> resend_head(Attempt& a, std::string_view head, bool whole_head_sent,
                              bool idempotent);

  WorkerContext& w_;
  Stream client_;
  beast::flat_buffer cbuf_;
  size_t listener_;
  tcp::endpoint peer_;
  std::string peer_ip_;
  routing::Country country_;  // of the peer, looked up once at accept
  std::string hsts_;  // "Strict-Transport-Security: ...\r\n" for a TLS listener that sets it
  std::shared_ptr<const Snapshot> snap_;
  UpstreamConnection* upstream_ = nullptr;  // in use by the current request, for expire()
  routing::Node* current_node_ = nullptr;   // of the current request (drain_timeout, counters)
  Millis drain_timeout_{0};
  size_t pending_head_ = 0;  // bytes of the current request head still in cbuf_
  bool first_ = true;
  bool idle_ = false;
  bool expired_ = false;
  bool close_after_ = false;

  // Per-request facts for the access log.
  Clock::time_point start_{};
  Clock::time_point upstream_start_{};
  Clock::time_point upstream_end_{};
  uint64_t bytes_sent_ = 0;      // to the client
  uint64_t bytes_received_ = 0;  // from the client: head and body
  std::string_view pool_name_;
  std::string_view node_name_;
};

template <class Stream>
awaitable<bool> Session<Stream>::send_error(unsigned status, std::string_view text, bool close) {
  std::string out;
  build_error_response(status, text, close, out, hsts_);
  deadline_in(snap_ ? listener().client_timeout : Millis(5000));
  auto [ec, n] = co_await asio::async_write(client_, asio::buffer(out), use_tuple);
  bytes_sent_ += n;
  co_return !close && !ec;
}

template <class Stream>
awaitable<bool> Session<Stream>::reject(unsigned status, std::string_view text) {
  bool keep = co_await send_error(status, text, true);
  ListenerTraffic& lt = w_.listener_traffic(listener_);
  lt.requests[routing::status_class(status)].add();
  lt.received_bytes.add(bytes_received_);
  lt.sent_bytes.add(bytes_sent_);
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

  start_ = w_.now();
  current_node_ = nullptr;
  upstream_start_ = upstream_end_ = {};
  bytes_sent_ = bytes_received_ = 0;
  pool_name_ = node_name_ = {};
  deadline_in(ls.header_timeout);

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
      co_return co_await reject(505, "HTTP version not supported");
    case HeadStatus::Bad:
      co_return co_await reject(400, "bad request");
  }
  pending_head_ = req.size;
  bytes_received_ = req.size;

  if (req.method == "CONNECT") co_return co_await reject(405, "CONNECT not allowed");
  std::string_view target = req.target;
  std::string absolute_target;
  if (target.starts_with("http://") || target.starts_with("https://")) {
    // absolute-form: its authority replaces Host (RFC 9112 3.2.2)
    auto rest = target.substr(target.find("//") + 2);
    auto slash = rest.find('/');
    req.host = rest.substr(0, slash);
    absolute_target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    target = absolute_target;
  } else if (target.front() != '/' && !(target == "*" && req.method == "OPTIONS")) {
    co_return co_await reject(400, "bad request target");
  }
  if (req.version == 11 && req.host_count != 1)
    co_return co_await reject(400, "missing or repeated Host");
  if (req.host_count > 1 || (!req.host.empty() && !valid_host(req.host)))
    co_return co_await reject(400, "bad Host");

  auto route = snap_->routes().match(req.host, target);
  if (!kTls && ls.redirect_to_https &&
      !(route && snap_->route(*route).path_prefix.starts_with(kAcmePrefix) &&
        target.starts_with(kAcmePrefix))) {
    // Plain listener in front of a TLS one: everything moves to https, except ACME
    // challenges that a route made for them sends to the certbot host.
    if (req.host.empty()) co_return co_await reject(400, "missing Host");
    bool body = req.chunked || req.content_length.value_or(0) > 0;
    std::string out;
    build_https_redirect(req.host, target, body || !req.keep_alive(), out);
    deadline_in(ls.client_timeout);
    auto [wec, wn] = co_await asio::async_write(client_, asio::buffer(out), use_tuple);
    bytes_sent_ = wn;
    finish_request(req, 301);
    cbuf_.consume(pending_head_);
    pending_head_ = 0;
    co_return !wec && !body && req.keep_alive();
  }
  bool keep;
  if (route) {
    keep = co_await proxy_request(req, target, *route);
  } else {
    // A request with a body we won't read cannot keep the connection in sync.
    bool body = req.chunked || req.content_length.value_or(0) > 0;
    keep = co_await send_error(404, "no route", body || !req.keep_alive());
    finish_request(req, 404);
  }
  cbuf_.consume(pending_head_);
  pending_head_ = 0;
  co_return keep;
}

template <class Stream>
awaitable<bool> Session<Stream>::connect(routing::Node& node, Millis timeout,
                                         const tls::ClientTls* tls,
                                         std::unique_ptr<UpstreamConnection>& out,
                                         bool& timed_out) {
  auto ep = config::parse_endpoint(node.settings().address);
  if (!ep) co_return false;
  routing::NodeTraffic& traffic = node_traffic(node);
  const Clock::time_point started = w_.now();
  auto conn = std::make_unique<UpstreamConnection>(w_.io().get_executor());
  upstream_ = conn.get();
  deadline_in(timeout);
  auto [ec] = co_await conn->socket().async_connect(*ep, use_tuple);
  upstream_ = nullptr;
  if (ec) {
    auto why = expired_                                ? routing::ConnectError::Timeout
               : ec == asio::error::connection_refused ? routing::ConnectError::Refused
                                                       : routing::ConnectError::Other;
    traffic.connect_errors[static_cast<size_t>(why)].add();
    timed_out = timed_out || expired_;
    expired_ = false;
    co_return false;
  }
  conn->opened(node.shared_from_this(), traffic);
  error_code ignored;
  conn->socket().set_option(tcp::no_delay(true), ignored);
  if (tls) {
    // Re-encryption: the handshake belongs to the connect, within the same timeout.
    std::string_view host = node.settings().address;
    host = host.substr(0, host.rfind(':'));
    if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
    SSL* ssl = tls->new_ssl(host);
    if (!ssl) co_return false;
    conn->stream.start_tls(ssl);
    upstream_ = conn.get();
    auto [hec] = co_await conn->stream.tls()->async_client_handshake(use_tuple);
    upstream_ = nullptr;
    if (hec) {
      traffic
          .connect_errors[static_cast<size_t>(expired_ ? routing::ConnectError::Timeout
                                                       : routing::ConnectError::Tls)]
          .add();
      timed_out = timed_out || expired_;
      expired_ = false;
      co_return false;
    }
  }
  traffic.connect_time.observe(w_.now() - started);
  out = std::move(conn);
  co_return true;
}

// Is an idle pooled connection still open? (A backend may have closed it meanwhile.)
inline bool still_open(tcp::socket& s) {
  return peek(s.native_handle()) == Peek::Nothing;
}

template <class Stream>
awaitable<bool> Session<Stream>::proxy_request(RequestHead& req, std::string_view target,
                                               size_t route_index) {
  const routing::RouteSettings& route = snap_->route(route_index);
  routing::Pool& pool = snap_->route_pool(route_index);
  const ListenerSettings& ls = listener();
  const tls::ClientTls* up_tls = snap_->client_tls(pool);

  const uint64_t content_length = req.content_length.value_or(0);
  const bool has_body = req.chunked || content_length > 0;
  if (!route.access.empty() &&
      route.access.check(peer_.address(), country_) != routing::Refusal::None) {
    // A body we won't read cannot keep the connection in sync.
    bool keep = co_await send_error(403, "forbidden", has_body || !req.keep_alive());
    finish_request(req, 403);
    co_return keep;
  }
  pool_name_ = pool.name();
  if (route.max_body && content_length > route.max_body) {
    finish_request(req, 413);
    co_return co_await send_error(413, "request body too large", true);
  }
  const bool websocket = req.connection_upgrade && iequals(req.upgrade, "websocket");
  // A request that may be sent again when its connection failed before any response byte.
  const bool idempotent = req.method == "GET" || req.method == "HEAD";
  const bool client_keep = req.keep_alive() && !websocket;

  std::string head;
  build_request_head(
      req,
      RequestRewrite{.target = target,
                     .client_ip = peer_ip_,
                     // Without [geoip] the header is left alone, as any other.
                     .country_header = snap_->config().geoip.database.empty()
                                           ? std::string_view()
                                           : std::string_view(snap_->config().geoip.header),
                     .country = country_.known() ? country_.code() : std::string_view(),
                     .proto = kTls ? "https" : "http",
                     .host = req.host,
                     .forwarded = ls.forwarded,
                     .via = ls.via,
                     .websocket = websocket,
                     .chunked = req.chunked,
                     .content_length =
                         has_body && !req.chunked ? std::optional(content_length) : std::nullopt},
      head);
  // The body is read into the same buffer as the head: keep the head's bytes (for the log)
  // in a copy of their own before the buffer moves.
  std::string saved_head;
  if (has_body) {
    const char* base = static_cast<const char*>(cbuf_.data().data());
    saved_head.assign(base, req.size);
    rebase(req, base, saved_head.data());
    cbuf_.consume(req.size);
    pending_head_ = 0;
  }

  // Choose a node and get a connection. A failed connect sends nothing, so another node is
  // tried; a reused connection the backend closed meanwhile is replaced by a fresh one when
  // the request can be replayed (no body).
  Attempt at{.pool = pool, .tls = up_tls, .route = route};
  routing::NodeLease& lease = at.lease;
  std::unique_ptr<UpstreamConnection>& up = at.up;
  bool& reused = at.reused;
  bool saw_timeout = false;
  upstream_start_ = w_.now();
  while (!up && at.ntried < kMaxTries) {
    lease = pool.pick({w_.random(), at.excluded()});
    if (!lease) break;
    routing::Node& node = *lease.node();
    if (at.ntried > 0) count_retry(at.tried[at.ntried - 1]);
    up = w_.upstreams().take(&node);
    reused = up != nullptr;
    if (reused && has_body && !still_open(up->socket())) {
      up.reset();  // a body cannot be replayed: check the idle connection first
      reused = false;
    }
    if (!up && !co_await connect(node, route.timeouts.connect, up_tls, up, saw_timeout)) {
      at.tried[at.ntried++] = &node;
      health::report_passive(pool, node, routing::PassiveResult::ConnectFailure);
      lease.release();
    }
  }
  if (!up) {
    finish_request(req, saw_timeout ? 504 : 503);
    if (saw_timeout) co_return co_await send_error(504, "upstream connect timeout", true);
    co_return co_await send_error(503, "no usable node", has_body || !client_keep);
  }
  node_name_ = lease.node()->name();
  current_node_ = lease.node();
  drain_timeout_ = pool.settings().health.drain_timeout;
  upstream_ = up.get();

  if (req.expect_continue && has_body && req.version == 11 && cbuf_.size() == 0) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    deadline_in(ls.client_timeout);
    auto [ec, n] = co_await asio::async_write(client_, asio::buffer(kContinue), use_tuple);
    if (ec) co_return false;
  }

  // Send the request: the head alone (kept for a replay), or with the body streamed behind it.
  BodyState req_body = req.chunked ? BodyState::chunked() : BodyState::length(content_length);
  for (;;) {
    RelayResult r = RelayResult::Ok;
    if (has_body) {
      uint64_t sent_bytes = 0;
      const size_t head_size = head.size();
      r = co_await relay_body(client_, cbuf_, req_body, up->stream, head, req.chunked,
                              ls.client_timeout, route.timeouts.response, route.max_body,
                              sent_bytes, deadline_fn(), expired_);
      node_traffic(*lease.node()).sent_bytes.add(sent_bytes);
      bytes_received_ += sent_bytes > head_size ? sent_bytes - head_size : 0;
    } else {
      deadline_in(route.timeouts.response);
      auto [ec, n] = co_await asio::async_write(up->stream, asio::buffer(head), use_tuple);
      node_traffic(*lease.node()).sent_bytes.add(n);
      if (ec) r = expired_ ? RelayResult::Expired : RelayResult::DestError;
    }
    if (r == RelayResult::Ok) break;
    upstream_ = nullptr;
    switch (r) {
      case RelayResult::TooLarge:
        finish_request(req, 413);
        co_return co_await send_error(413, "request body too large", true);
      case RelayResult::SourceBad:
        finish_request(req, 400);
        co_return co_await send_error(400, "bad chunked body", true);
      case RelayResult::SourceError:
        co_return false;  // the client stopped sending: the backend never sees a whole request
      default:
        break;
    }
    if (r == RelayResult::Expired && has_body) co_return false;
    if (!has_body && co_await resend_head(at, head, false, idempotent)) break;
    finish_request(req, 502);
    co_return co_await send_error(502, "upstream write failed", true);
  }

  // The response. Interim 1xx answers are passed on and the final one is read next.
  auto res_slot = w_.response_heads().acquire();
  for (;;) {
    ResponseHead& res = *res_slot;
    error_code ec;
    deadline_in(route.timeouts.response);
    HeadStatus st = co_await read_head(up->stream, up->buffer, res, kMaxResponseHead, kResponseRead,
                                       parse_response_head, ec);
    if (st != HeadStatus::Complete) {
      upstream_ = nullptr;
      bool timed_out = expired_;
      expired_ = false;
      if (timed_out) {
        finish_request(req, 504);
        co_return co_await send_error(504, "upstream response timeout", true);
      }
      // Closed before any byte of the response.
      if (st == HeadStatus::Incomplete && !has_body && up->buffer.size() == 0 &&
          co_await resend_head(at, head, true, idempotent))
        continue;
      finish_request(req, 502);
      co_return co_await send_error(502, "bad upstream response", true);
    }
    upstream_end_ = w_.now();
    const unsigned status = res.status;

    if (status >= 100 && status < 200 && status != 101) {
      std::string interim;
      if (req.version == 11)  // HTTP/1.0 clients do not expect interim responses
        build_response_head(res, ResponseRewrite{.framing = Framing::None, .via = ls.via}, interim);
      up->buffer.consume(res.size);
      if (!interim.empty()) {
        deadline_in(ls.client_timeout);
        auto [wec, wn] = co_await asio::async_write(client_, asio::buffer(interim), use_tuple);
        if (wec) {
          upstream_ = nullptr;
          co_return false;
        }
      }
      continue;
    }

    if (status == 101) {
      if (!websocket) {
        upstream_ = nullptr;
        finish_request(req, 502);
        co_return co_await send_error(502, "unexpected upgrade", true);
      }
      std::string out;
      build_response_head(
          res, ResponseRewrite{.framing = Framing::None, .via = ls.via, .extra = hsts_}, out);
      up->buffer.consume(res.size);
      cbuf_.consume(pending_head_);
      pending_head_ = 0;
      // Bytes that arrived behind either head belong to the tunnel.
      std::array<asio::const_buffer, 2> to_client{asio::buffer(out), up->buffer.data()};
      deadline_in(ls.client_timeout);
      auto [wec, wn] = co_await asio::async_write(client_, to_client, use_tuple);
      bytes_sent_ += wn;
      up->buffer.consume(up->buffer.size());
      finish_request(req, 101);
      if (!wec && cbuf_.size()) {
        auto [uec, un] = co_await asio::async_write(up->stream, cbuf_.data(), use_tuple);
        wec = uec;
        cbuf_.consume(cbuf_.size());
      }
      if (!wec)
        co_await tunnel(client_, up->stream, w_.buffers(), route.timeouts.tunnel, deadline_fn());
      upstream_ = nullptr;
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
        client_keep && out_framing != Framing::Close && !close_after_ && !w_.stopping();
    std::string out;
    build_response_head(res,
                        ResponseRewrite{.framing = out_framing,
                                        .keep_alive = keep,
                                        .client_http10 = http10,
                                        .via = ls.via,
                                        .extra = hsts_},
                        out);
    const bool backend_keep = res.keep_alive() && res_body.kind != Framing::Close;
    up->buffer.consume(res.size);
    RelayResult r = co_await relay_body(up->stream, up->buffer, res_body, client_, out,
                                        out_framing == Framing::Chunked, route.timeouts.response,
                                        ls.client_timeout, 0, bytes_sent_, deadline_fn(), expired_);
    upstream_ = nullptr;
    finish_request(req, status);
    health::report_passive(
        pool, *lease.node(),
        status >= 500 ? routing::PassiveResult::ServerError : routing::PassiveResult::Success);
    if (r != RelayResult::Ok) co_return false;  // never pass a truncated body as complete

    // Keep the backend connection for the next request when both messages ended cleanly, it
    // holds no unread bytes, and the config it belongs to is still the current one.
    if (backend_keep && up->buffer.size() == 0 && snap_ == w_.snapshot()) {
      ++up->requests;
      w_.upstreams().give_back(lease.node(), std::move(up), pool.settings().max_idle, w_.now());
    }
    co_return keep;
  }
}

template <class Stream>
awaitable<bool> Session<Stream>::resend_head(Attempt& a, std::string_view head,
                                             bool whole_head_sent, bool idempotent) {
  // A stale pooled connection is replaced by a fresh one to the same node; a fresh connection
  // that died means the node is failing (stopping, crashing): the request gets its one retry
  // on another node. A head that did not leave whole never made a request, so it may go again
  // whatever its method. Each round clears `reused` or sets `replayed`: two rounds at most.
  bool may_repeat = idempotent || !whole_head_sent;
  while (a.reused || (may_repeat && !a.replayed)) {
    a.replayed = a.replayed || !a.reused;
    if (!co_await replace_connection(a)) co_return false;
    a.reused = false;
    expired_ = false;
    deadline_in(a.route.timeouts.response);
    auto [ec, n] = co_await asio::async_write(a.up->stream, asio::buffer(head), use_tuple);
    node_traffic(*a.lease.node()).sent_bytes.add(n);
    if (!ec) co_return true;
    upstream_ = nullptr;
    may_repeat = true;  // this head did not leave whole either
  }
  co_return false;
}

template <class Stream>
awaitable<bool> Session<Stream>::replace_connection(Attempt& a) {
  // The connection died before answering: its idle siblings on this worker are likely dead
  // too (a backend restarting closes them all).
  a.up.reset();
  upstream_ = nullptr;
  w_.upstreams().drop(a.lease.node());
  // A reused connection most likely just went stale: the same node first. A fresh one that
  // died says the node itself is failing (stopping, crashing): another node.
  bool timed_out = false;
  const Millis connect_timeout = a.route.timeouts.connect;
  if (a.reused && co_await connect(*a.lease.node(), connect_timeout, a.tls, a.up, timed_out)) {
    upstream_ = a.up.get();
    co_return true;
  }
  for (;;) {
    if (a.ntried < kMaxTries) a.tried[a.ntried++] = a.lease.node();
    health::report_passive(a.pool, *a.lease.node(), routing::PassiveResult::ConnectFailure);
    a.lease.release();
    if (a.ntried == kMaxTries) co_return false;
    a.lease = a.pool.pick({w_.random(), a.excluded()});
    if (!a.lease) co_return false;
    count_retry(a.tried[a.ntried - 1]);
    if (co_await connect(*a.lease.node(), connect_timeout, a.tls, a.up, timed_out)) {
      node_name_ = a.lease.node()->name();
      current_node_ = a.lease.node();
      upstream_ = a.up.get();
      co_return true;
    }
  }
}

template <class Stream>
void Session<Stream>::finish_request(const RequestHead& req, unsigned status) {
  const Clock::time_point end = w_.now();
  const size_t code = routing::status_class(status);
  ListenerTraffic& lt = w_.listener_traffic(listener_);
  lt.requests[code].add();
  lt.received_bytes.add(bytes_received_);
  lt.sent_bytes.add(bytes_sent_);
  if (current_node_) {
    routing::NodeTraffic& nt = node_traffic(*current_node_);
    nt.responses[code].add();
    nt.received_bytes.add(bytes_sent_);
    if (upstream_end_ > upstream_start_) nt.header_time.observe(upstream_end_ - start_);
    nt.total_time.observe(end - start_);
  }
  if (w_.log().enabled()) log_request(req, status, end);
}

template <class Stream>
void Session<Stream>::log_request(const RequestHead& req, unsigned status, Clock::time_point end) {
  LogBuffer& log = w_.log();
  using Seconds = std::chrono::duration<double>;
  AccessLine line{.client = peer_ip_,
                  .client_port = peer_.port(),
                  .method = req.method,
                  .target = req.target,
                  .version = req.version,
                  .status = status,
                  .bytes = bytes_sent_,
                  .host = req.host,
                  .listener = listener().name,
                  .pool = pool_name_,
                  .node = node_name_,
                  .country = w_.has_geo() ? country_.code() : std::string_view(),
                  .upstream_seconds = upstream_end_ > upstream_start_
                                          ? Seconds(upstream_end_ - upstream_start_).count()
                                          : -1.0,
                  .total_seconds = Seconds(end - start_).count()};
  format_access_line(line, log.line_buffer());
  log.line_done();
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
