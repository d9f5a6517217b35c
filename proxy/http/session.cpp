#include "proxy/http/session.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "proxy/config/address.h"
#include "proxy/http/access_line.h"
#include "proxy/http/header_rewrite.h"
#include "proxy/worker.h"

namespace proxy::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using namespace asio::experimental::awaitable_operators;

// Upstream response headers may be larger than a client's: cookies set by a cloud suite.
constexpr uint32_t kMaxResponseHeader = 64 * 1024;
constexpr size_t kMaxTries = 8;
// Read size while waiting for the next request on a keep-alive connection: most request
// heads fit; a larger one continues in the header read.
constexpr size_t kIdleBuffer = 1024;  // nodes tried for one request when connects fail

template <class Stream>
void cancel_stream(Stream& s) {
  error_code ignored;
  beast::get_lowest_layer(s).cancel(ignored);
}

template <class Stream>
void shutdown_send(Stream& s) {
  error_code ignored;
  beast::get_lowest_layer(s).shutdown(tcp::socket::shutdown_send, ignored);
}

// Appends a chunk header ("1a2b\r\n") for n bytes.
void chunk_header(std::string& out, size_t n) {
  char buf[20];
  int len = std::snprintf(buf, sizeof buf, "%zx\r\n", n);
  out.append(buf, static_cast<size_t>(len));
}

bool wants_websocket(const bhttp::request_header<>& req) {
  auto upgrade = req[bhttp::field::upgrade];
  return !upgrade.empty() && connection_has_token(upgrade, "websocket") &&
         connection_has_token(req[bhttp::field::connection], "upgrade");
}

enum class Outcome : uint8_t { Ok, SourceError, DestError, TooLarge, Expired };

template <class Stream>
class Session final : public TrackedConnection {
 public:
  Session(Worker& w, Stream stream, size_t listener, tcp::endpoint peer)
      : w_(w), client_(std::move(stream)), listener_(listener), peer_(peer) {
    peer_ip_ = peer_.address().to_string();
    w_.connections().push_back(*this);
  }

  awaitable<void> run() {
    while (!close_after_ && !w_.stopping()) {
      // Between requests: wait for the next bytes without holding a parser, into a small
      // buffer. A read (not a readiness wait) costs no epoll_ctl: the socket stays registered
      // edge-triggered, so an idle keep-alive connection costs no system call to resume.
      if (cbuf_.size() == 0) {
        if (cbuf_.capacity() > kIdleBuffer) cbuf_.shrink_to_fit();
        idle_ = true;
        expired_ = false;
        const ListenerSettings& ls = w_.snapshot()->config().listeners[listener_];
        deadline_in(first_ ? ls.header_timeout : ls.keepalive_timeout);
        auto [ec, n] = co_await client_.async_read_some(cbuf_.prepare(kIdleBuffer), use_tuple);
        cbuf_.commit(n);
        idle_ = false;
        if (ec || close_after_ || w_.stopping()) break;
      }
      bool keep = co_await serve_one();
      first_ = false;
      if (!keep) break;
    }
    error_code ignored;
    beast::get_lowest_layer(client_).close(ignored);
  }

  void expire() override {
    expired_ = true;
    cancel_stream(client_);
    if (upstream_) {
      error_code ignored;
      upstream_->socket.cancel(ignored);
    }
  }

  void stop_gracefully() override {
    close_after_ = true;
    if (idle_) cancel_stream(client_);
  }

 private:
  const ListenerSettings& listener() const { return snap_->config().listeners[listener_]; }
  void deadline_in(Millis d) { set_deadline(w_.now() + d); }

  // Reads and answers one request. Returns whether the connection stays open.
  awaitable<bool> serve_one();
  awaitable<bool> send_error(unsigned status, std::string_view text, bool close);
  awaitable<bool> proxy_request(bhttp::request_parser<bhttp::buffer_body>& parser,
                                size_t route_index);
  awaitable<Outcome> connect(routing::Node& node, Millis timeout,
                             std::unique_ptr<UpstreamConnection>& out);
  template <class From, class Parser, class To>
  awaitable<Outcome> relay_body(From& from, beast::flat_buffer& from_buf, Parser& p, To& to,
                                std::string& head, bool chunked_out, Millis read_timeout,
                                Millis write_timeout, uint64_t limit, uint64_t& bytes_out);
  awaitable<void> tunnel(UpstreamConnection& up, Millis idle);
  template <class From, class To>
  awaitable<void> pump(From& from, To& to, Millis idle, bool& failed);
  void log_request(const bhttp::request_header<>& req, unsigned status);

  Worker& w_;
  Stream client_;
  beast::flat_buffer cbuf_;
  size_t listener_;
  tcp::endpoint peer_;
  std::string peer_ip_;
  std::shared_ptr<const Snapshot> snap_;
  UpstreamConnection* upstream_ = nullptr;  // in use by the current request, for expire()
  bool first_ = true;
  bool idle_ = false;
  bool expired_ = false;
  bool close_after_ = false;

  // Per-request facts for the access log.
  Clock::time_point start_{};
  Clock::time_point upstream_start_{};
  Clock::time_point upstream_end_{};
  uint64_t bytes_sent_ = 0;
  std::string_view pool_name_;
  std::string_view node_name_;
};

template <class Stream>
awaitable<bool> Session<Stream>::send_error(unsigned status, std::string_view text, bool close) {
  std::string out;
  build_error_response(status, text, close, out);
  deadline_in(snap_ ? listener().client_timeout : Millis(5000));
  auto [ec, n] = co_await asio::async_write(client_, asio::buffer(out), use_tuple);
  bytes_sent_ += n;
  co_return !close && !ec;
}

template <class Stream>
awaitable<bool> Session<Stream>::serve_one() {
  // Each request sees the newest config. Copied only when it changed: the snapshot's reference
  // count is shared by every worker and would otherwise bounce between cores on every request.
  if (snap_.get() != w_.snapshot().get()) snap_ = w_.snapshot();
  const ListenerSettings& ls = listener();

  start_ = w_.now();
  upstream_start_ = upstream_end_ = {};
  bytes_sent_ = 0;
  pool_name_ = node_name_ = {};
  deadline_in(ls.header_timeout);

  bhttp::request_parser<bhttp::buffer_body> parser;
  parser.header_limit(ls.max_header);
  parser.body_limit(boost::none);
  auto [ec, n] = co_await bhttp::async_read_header(client_, cbuf_, parser, use_tuple);
  if (ec) {
    if (expired_) co_return co_await send_error(408, "request header timeout", true);
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset)
      co_return false;  // the client went away between or during requests
    if (ec == bhttp::error::header_limit)
      co_return co_await send_error(431, "request header too large", true);
    co_return co_await send_error(400, "bad request", true);
  }
  auto& req = parser.get();

  // Framing checks that make request smuggling impossible (RFC 9112 6.1, 6.3).
  if (req.version() != 11 && req.version() != 10)
    co_return co_await send_error(505, "HTTP version not supported", true);
  if (req.count(bhttp::field::transfer_encoding) && !parser.chunked())
    co_return co_await send_error(400, "bad transfer-encoding", true);
  if (req.method() == bhttp::verb::connect)
    co_return co_await send_error(405, "CONNECT not allowed", true);
  std::string_view target = req.target();
  std::string_view host = req[bhttp::field::host];
  std::string absolute_target;
  if (target.starts_with("http://") || target.starts_with("https://")) {
    // absolute-form: its authority replaces Host (RFC 9112 3.2.2)
    auto rest = target.substr(target.find("//") + 2);
    auto slash = rest.find('/');
    host = rest.substr(0, slash);
    absolute_target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    target = absolute_target;
  } else if (target.empty() || (target.front() != '/' && target != "*")) {
    co_return co_await send_error(400, "bad request target", true);
  }
  if (req.version() == 11 && req.count(bhttp::field::host) != 1)
    co_return co_await send_error(400, "missing or repeated Host", true);

  auto route = snap_->routes().match(host, target);
  if (!route) {
    // A request with a body we won't read cannot keep the connection in sync.
    bool body = parser.chunked() || (parser.content_length() && *parser.content_length() > 0);
    bool keep = co_await send_error(404, "no route", body || !req.keep_alive());
    log_request(req, 404);
    co_return keep;
  }
  co_return co_await proxy_request(parser, *route);
}

template <class Stream>
awaitable<Outcome> Session<Stream>::connect(routing::Node& node, Millis timeout,
                                            std::unique_ptr<UpstreamConnection>& out) {
  auto ep = config::parse_endpoint(node.settings().address);
  if (!ep) co_return Outcome::DestError;
  auto conn = std::make_unique<UpstreamConnection>(w_.context().get_executor());
  upstream_ = conn.get();
  deadline_in(timeout);
  auto [ec] = co_await conn->socket.async_connect(*ep, use_tuple);
  upstream_ = nullptr;
  if (ec) {
    bool timed_out = expired_;
    expired_ = false;
    co_return timed_out ? Outcome::Expired : Outcome::DestError;
  }
  error_code ignored;
  conn->socket.set_option(tcp::no_delay(true), ignored);
  out = std::move(conn);
  co_return Outcome::Ok;
}

template <class Stream>
template <class From, class Parser, class To>
awaitable<Outcome> Session<Stream>::relay_body(From& from, beast::flat_buffer& from_buf, Parser& p,
                                               To& to, std::string& head, bool chunked_out,
                                               Millis read_timeout, Millis write_timeout,
                                               uint64_t limit, uint64_t& bytes_out) {
  BodyBuffer buf(w_.buffers());
  uint64_t total = 0;
  std::string frame;  // chunk framing around this piece
  do {
    p.get().body().data = buf.data();
    p.get().body().size = buf.size();
    deadline_in(read_timeout);
    auto [ec, n] = co_await bhttp::async_read(from, from_buf, p, use_tuple);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) co_return expired_ ? Outcome::Expired : Outcome::SourceError;
    size_t got = buf.size() - p.get().body().size;
    total += got;
    if (limit && total > limit) co_return Outcome::TooLarge;

    frame.clear();
    if (chunked_out && got) chunk_header(frame, got);
    std::array<asio::const_buffer, 5> parts{
        asio::buffer(head), asio::buffer(frame), asio::buffer(buf.data(), got),
        asio::buffer(chunked_out && got ? "\r\n" : "", chunked_out && got ? 2 : 0),
        asio::buffer(chunked_out && p.is_done() ? "0\r\n\r\n" : "",
                     chunked_out && p.is_done() ? 5 : 0)};
    if (asio::buffer_size(parts) == 0) continue;
    deadline_in(write_timeout);
    auto [wec, wn] = co_await asio::async_write(to, parts, use_tuple);
    bytes_out += wn;
    if (wec) co_return expired_ ? Outcome::Expired : Outcome::DestError;
    head.clear();
  } while (!p.is_done());
  co_return Outcome::Ok;
}

template <class Stream>
awaitable<bool> Session<Stream>::proxy_request(bhttp::request_parser<bhttp::buffer_body>& parser,
                                               size_t route_index) {
  auto& req = parser.get();
  const routing::RouteSettings& route = snap_->route(route_index);
  routing::Pool& pool = snap_->route_pool(route_index);
  const ListenerSettings& ls = listener();
  pool_name_ = pool.name();

  const bool chunked_in = parser.chunked();
  const uint64_t content_length = parser.content_length() ? *parser.content_length() : 0;
  const bool has_body = chunked_in || content_length > 0;
  if (route.max_body && content_length > route.max_body) {
    log_request(req, 413);
    co_return co_await send_error(413, "request body too large", true);
  }
  const bool websocket = wants_websocket(req);
  bool client_keep = req.keep_alive() && !websocket;

  std::string head;
  std::string_view host = req[bhttp::field::host];
  RequestRewrite rw{.target = req.target(),
                    .client_ip = peer_ip_,
                    .proto = "http",
                    .host = host,
                    .forwarded = ls.forwarded,
                    .via = ls.via,
                    .websocket = websocket,
                    .chunked = chunked_in,
                    .content_length = has_body && !chunked_in
                                          ? std::optional<uint64_t>(content_length)
                                          : std::nullopt};
  build_request_head(req, rw, head);

  // Choose a node and get a connection. A failed connect sends nothing, so another node is
  // tried; a reused connection the backend closed meanwhile is replaced by a fresh one when
  // the request can be replayed (no body sent yet).
  std::array<const routing::Node*, kMaxTries> tried{};
  size_t ntried = 0;
  routing::NodeLease lease;
  std::unique_ptr<UpstreamConnection> up;
  bool reused = false;
  bool saw_timeout = false;
  upstream_start_ = w_.now();
  while (!up) {
    if (ntried == kMaxTries) break;
    lease = pool.pick({w_.random(), std::span<const routing::Node* const>(tried.data(), ntried)});
    if (!lease) break;
    routing::Node& node = *lease.node();
    up = w_.upstreams().take(&node);
    reused = up != nullptr;
    if (reused && has_body) {
      // Bodies cannot be replayed: make sure the idle connection was not closed meanwhile.
      char probe;
      ssize_t r = ::recv(up->socket.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || r > 0) {
        up.reset();
        reused = false;
      }
    }
    if (!up) {
      Outcome o = co_await connect(node, route.timeouts.connect, up);
      if (o != Outcome::Ok) {
        saw_timeout = saw_timeout || o == Outcome::Expired;
        tried[ntried++] = &node;
        lease.release();
      }
    }
  }
  if (!up) {
    log_request(req, saw_timeout ? 504 : 503);
    if (saw_timeout) co_return co_await send_error(504, "upstream connect timeout", true);
    co_return co_await send_error(503, "no usable node", has_body || !client_keep);
  }
  node_name_ = lease.node()->name();
  upstream_ = up.get();

  // Send the request: head alone, or head with the first piece of the body.
  if (has_body && req[bhttp::field::expect] == "100-continue" && req.version() == 11 &&
      cbuf_.size() == 0) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    deadline_in(ls.client_timeout);
    auto [ec, n] = co_await asio::async_write(client_, asio::buffer(kContinue), use_tuple);
    if (ec) co_return false;
  }
  bool replayable = !has_body;
  for (int attempt = 0;; ++attempt) {
    Outcome sent = Outcome::Ok;
    uint64_t ignored_bytes = 0;
    if (has_body) {
      sent = co_await relay_body(client_, cbuf_, parser, up->socket, head, chunked_in,
                                 ls.client_timeout, route.timeouts.response, route.max_body,
                                 ignored_bytes);
    } else {
      deadline_in(route.timeouts.response);
      auto [ec, n] = co_await asio::async_write(up->socket, asio::buffer(head), use_tuple);
      sent = ec ? (expired_ ? Outcome::Expired : Outcome::DestError) : Outcome::Ok;
    }
    if (sent == Outcome::TooLarge) {
      upstream_ = nullptr;
      log_request(req, 413);
      co_return co_await send_error(413, "request body too large", true);
    }
    if (sent == Outcome::SourceError || (sent == Outcome::Expired && has_body)) {
      upstream_ = nullptr;
      co_return false;  // the client stopped sending: the backend never sees a complete request
    }
    if (sent == Outcome::Ok) {
      // Read the response head; 1xx interim answers are passed on (except after a 100 we
      // produced ourselves) and the final one is read next.
      break;
    }
    if (reused && replayable && attempt == 0) {
      // The backend closed the idle connection: reconnect to the same node and replay.
      up.reset();
      upstream_ = nullptr;
      Outcome o = co_await connect(*lease.node(), route.timeouts.connect, up);
      if (o != Outcome::Ok) break;
      upstream_ = up.get();
      reused = false;
      continue;
    }
    upstream_ = nullptr;
    log_request(req, 502);
    co_return co_await send_error(502, "upstream write failed", true);
  }
  if (!up) {
    log_request(req, 502);
    co_return co_await send_error(502, "upstream unreachable", true);
  }

  // The response.
  for (;;) {
    bhttp::response_parser<bhttp::buffer_body> rp;
    rp.header_limit(kMaxResponseHeader);
    rp.body_limit(boost::none);
    if (req.method() == bhttp::verb::head) rp.skip(true);
    deadline_in(route.timeouts.response);
    auto [ec, n] = co_await bhttp::async_read_header(up->socket, up->buffer, rp, use_tuple);
    if (ec) {
      upstream_ = nullptr;
      bool timed_out = expired_;
      expired_ = false;
      if (timed_out) {
        log_request(req, 504);
        co_return co_await send_error(504, "upstream response timeout", true);
      }
      if (reused && replayable && n == 0 && up->buffer.size() == 0) {
        // Closed before any byte of the response: replay once on a fresh connection.
        up.reset();
        reused = false;
        Outcome o = co_await connect(*lease.node(), route.timeouts.connect, up);
        if (o == Outcome::Ok) {
          upstream_ = up.get();
          deadline_in(route.timeouts.response);
          auto [wec, wn] = co_await asio::async_write(up->socket, asio::buffer(head), use_tuple);
          if (!wec) continue;
        }
        upstream_ = nullptr;
      }
      log_request(req, 502);
      co_return co_await send_error(502, "bad upstream response", true);
    }
    auto& res = rp.get();
    unsigned status = res.result_int();
    upstream_end_ = w_.now();

    if (status >= 100 && status < 200 && status != 101) {
      if (req.version() == 11) {  // HTTP/1.0 clients do not expect interim responses
        std::string interim;
        build_response_head(res, ResponseRewrite{.framing = Framing::None, .via = ls.via}, interim);
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
        log_request(req, 502);
        co_return co_await send_error(502, "unexpected upgrade", true);
      }
      std::string out;
      build_response_head(res, ResponseRewrite{.framing = Framing::None, .via = ls.via}, out);
      deadline_in(ls.client_timeout);
      auto [wec, wn] = co_await asio::async_write(client_, asio::buffer(out), use_tuple);
      bytes_sent_ += wn;
      log_request(req, 101);
      if (!wec) co_await tunnel(*up, route.timeouts.tunnel);
      upstream_ = nullptr;
      co_return false;
    }

    // Framing towards the client.
    Framing framing;
    bool body_expected = !rp.is_done();
    if (!body_expected)
      framing = Framing::None;
    else if (rp.chunked())
      framing = req.version() == 11 ? Framing::Chunked : Framing::Close;
    else if (rp.content_length())
      framing = Framing::Length;
    else
      framing = Framing::Close;
    bool keep = client_keep && framing != Framing::Close && !close_after_ && !w_.stopping();
    std::string out;
    build_response_head(res,
                        ResponseRewrite{.framing = framing,
                                        .content_length = rp.content_length()
                                                              ? std::optional(*rp.content_length())
                                                              : std::nullopt,
                                        .keep_alive = keep,
                                        .client_http10 = req.version() == 10,
                                        .via = ls.via},
                        out);
    Outcome o = Outcome::Ok;
    if (body_expected) {
      o = co_await relay_body(up->socket, up->buffer, rp, client_, out,
                              framing == Framing::Chunked, route.timeouts.response,
                              ls.client_timeout, 0, bytes_sent_);
    } else {
      deadline_in(ls.client_timeout);
      auto [wec, wn] = co_await asio::async_write(client_, asio::buffer(out), use_tuple);
      bytes_sent_ += wn;
      if (wec) o = Outcome::DestError;
    }
    upstream_ = nullptr;
    log_request(req, status);
    if (o != Outcome::Ok) co_return false;  // never pass a truncated body as complete

    // Keep the backend connection for the next request when both messages ended cleanly and
    // the config it belongs to is still the current one.
    if (res.keep_alive() && parser.is_done() && snap_ == w_.snapshot()) {
      ++up->requests;
      w_.upstreams().give_back(lease.node(), std::move(up), pool.settings().max_idle, w_.now());
    }
    co_return keep;
  }
}

template <class Stream>
template <class From, class To>
awaitable<void> Session<Stream>::pump(From& from, To& to, Millis idle, bool& failed) {
  BodyBuffer buf(w_.buffers());
  for (;;) {
    deadline_in(idle);
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buf.data(), buf.size()), use_tuple);
    if (ec) {
      if (ec == asio::error::eof && !failed) {
        shutdown_send(to);  // pass the half-close on; the other direction keeps flowing
      } else {
        failed = true;
        cancel_stream(to);
        cancel_stream(from);
      }
      co_return;
    }
    deadline_in(idle);
    auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf.data(), n), use_tuple);
    if (wec) {
      failed = true;
      cancel_stream(to);
      cancel_stream(from);
      co_return;
    }
  }
}

template <class Stream>
awaitable<void> Session<Stream>::tunnel(UpstreamConnection& up, Millis idle) {
  // Bytes that arrived behind the handshake belong to the tunnel.
  if (up.buffer.size()) {
    auto [ec, n] = co_await asio::async_write(client_, up.buffer.data(), use_tuple);
    if (ec) co_return;
    up.buffer.consume(n);
  }
  if (cbuf_.size()) {
    auto [ec, n] = co_await asio::async_write(up.socket, cbuf_.data(), use_tuple);
    if (ec) co_return;
    cbuf_.consume(n);
  }
  bool failed = false;
  co_await (pump(client_, up.socket, idle, failed) && pump(up.socket, client_, idle, failed));
}

template <class Stream>
void Session<Stream>::log_request(const bhttp::request_header<>& req, unsigned status) {
  LogBuffer& log = w_.log();
  if (!log.enabled()) return;
  Clock::time_point end = w_.now();
  AccessLine line{.client = peer_ip_,
                  .client_port = peer_.port(),
                  .method = req.method_string(),
                  .target = req.target(),
                  .version = req.version(),
                  .status = status,
                  .bytes = bytes_sent_,
                  .host = req[bhttp::field::host],
                  .listener = listener().name,
                  .pool = pool_name_,
                  .node = node_name_,
                  .upstream_seconds = upstream_end_ > upstream_start_
                                          ? std::chrono::duration<double>(upstream_end_ - upstream_start_).count()
                                          : -1.0,
                  .total_seconds = std::chrono::duration<double>(end - start_).count()};
  format_access_line(line, log.line_buffer());
  log.line_done();
}

}  // namespace

template <class Stream>
awaitable<void> serve_http(Worker& worker, Stream stream, size_t listener, tcp::endpoint peer) {
  Session<Stream> session(worker, std::move(stream), listener, peer);
  co_await session.run();
}

template awaitable<void> serve_http<tcp::socket>(Worker&, tcp::socket, size_t, tcp::endpoint);

}  // namespace proxy::http
