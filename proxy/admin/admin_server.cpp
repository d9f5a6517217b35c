#include "proxy/admin/admin_server.h"

#include <chrono>
#include <exception>
#include <list>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/admin/api.h"
#include "proxy/admin/status_history.h"
#include "proxy/admin/status_sessions.h"
#include "proxy/http/message_head.h"
#include "proxy/log.h"

namespace proxy::admin {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr size_t kMaxHead = 16 * 1024;
constexpr uint64_t kMaxBody = 64 * 1024;
constexpr size_t kRead = 4096;
constexpr auto kTimeout = std::chrono::seconds(10);
// After an answer with "Connection: close": how long, and how much, the client's remaining
// bytes are read and dropped so that closing does not reset the connection under the answer.
constexpr auto kLinger = std::chrono::seconds(2);
constexpr size_t kMaxLinger = 256 * 1024;
constexpr size_t kMaxConnections = 32;
constexpr int kBacklog = 64;

struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer timer;

  // The deadline of what follows: the socket is closed when it passes.
  void arm(std::chrono::steady_clock::duration d, const std::shared_ptr<Connection>& self) {
    timer.expires_after(d);
    timer.async_wait([weak = std::weak_ptr<Connection>(self)](error_code ec) {
      auto c = weak.lock();
      if (ec || !c || c->timer.expiry() > std::chrono::steady_clock::now()) return;
      c->close();
    });
  }
  void close() {
    error_code ignored;
    socket.close(ignored);
    timer.cancel();
  }
};

std::string endpoint_text(const tcp::endpoint& ep) {
  auto a = ep.address();
  std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(ep.port());
}

std::string_view head_error(http::HeadStatus s, unsigned& status) {
  switch (s) {
    case http::HeadStatus::TooLarge:
      status = 431;
      return "request head larger than 16KiB";
    case http::HeadStatus::BadVersion:
      status = 505;
      return "only HTTP/1.0 and HTTP/1.1 are spoken here";
    default:
      status = 400;
      return "malformed request";
  }
}

}  // namespace

namespace detail {

struct AdminState {
  explicit AdminState(asio::io_context& c) : ctx(c), acceptor(c), sampler(c) {}
  asio::io_context& ctx;
  tcp::acceptor acceptor;
  asio::steady_timer sampler;
  StatusSessions sessions;
  StatusHistory history;
  std::string token;
  AdminServer::Hooks hooks;
  std::list<std::weak_ptr<Connection>> connections;
  bool stopping = false;
  bool started = false;

  size_t open_connections() {
    connections.remove_if([](const std::weak_ptr<Connection>& w) { return w.expired(); });
    return connections.size();
  }

  Response answer(const Request& request) {
    Context context;
    if (hooks.snapshot) context.snapshot = hooks.snapshot();
    context.reload = hooks.reload;
    context.metrics = hooks.metrics;
    context.login_shield = hooks.login_shield;
    context.token = token;
    context.now = routing::Clock::clock::now();
    context.log = [](std::string_view line) { log_info(line); };
    context.sessions = &sessions;
    context.history = &history;
    context.status = hooks.status;
    context.users = hooks.users;
    context.now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    return handle(request, context);
  }

  // One sample of every node and listener for the status page's history.
  void sample() {
    if (!hooks.snapshot) return;
    auto snap = hooks.snapshot();
    if (!snap) return;
    std::vector<TrafficCounts> listeners;
    if (hooks.status)
      for (const auto& l : hooks.status().listeners) listeners.push_back(l.counts);
    history.sample(routing::Clock::clock::now(), *snap, listeners);
  }
};

}  // namespace detail

namespace {

using State = detail::AdminState;

// Reads more bytes into `buf`; false when the connection ended (closed, reset, timed out).
asio::awaitable<bool> read_more(Connection& c, std::string& buf) {
  size_t old = buf.size();
  buf.resize(old + kRead);
  auto [ec, n] =
      co_await c.socket.async_read_some(asio::buffer(buf.data() + old, kRead), use_tuple);
  buf.resize(old + n);
  co_return !ec;
}

// Sends the last answer and closes without resetting the connection under it.
asio::awaitable<void> finish(std::shared_ptr<Connection> c, std::string out) {
  auto [ec, n] = co_await asio::async_write(c->socket, asio::buffer(out), use_tuple);
  if (!ec) {
    error_code ignored;
    c->socket.shutdown(tcp::socket::shutdown_send, ignored);
    c->arm(kLinger, c);
    char sink[kRead];
    size_t dropped = 0;
    while (dropped < kMaxLinger) {
      auto [rec, got] = co_await c->socket.async_read_some(asio::buffer(sink), use_tuple);
      if (rec) break;
      dropped += got;
    }
  }
  c->close();
}

asio::awaitable<void> serve(std::shared_ptr<State> st, std::shared_ptr<Connection> c,
                            std::string peer) {
  std::string buf;
  for (;;) {
    c->arm(kTimeout, c);
    http::RequestHead head;
    http::HeadStatus status;
    while ((status = http::parse_request_head(buf, kMaxHead, head)) ==
           http::HeadStatus::Incomplete) {
      if (buf.size() >= kMaxHead) {
        status = http::HeadStatus::TooLarge;
        break;
      }
      if (!co_await read_more(*c, buf)) {
        c->close();
        co_return;
      }
    }
    if (status != http::HeadStatus::Complete) {
      unsigned code = 400;
      std::string_view why = head_error(status, code);
      co_await finish(c, serialize(error_response(code, why), false, true));
      co_return;
    }
    // The views of `head` point into `buf`, which reading a body may move: copy what is used.
    const std::string method(head.method), target(head.target);
    const std::string auth(head.get("authorization"));
    const std::string cookie(head.get("cookie")), origin(head.get("origin"));
    const std::string fetch_site(head.get("sec-fetch-site")), host(head.get("host"));
    const std::string accept(head.get("accept")), proto(head.get("x-forwarded-proto"));
    const bool keep_alive = head.keep_alive();
    if (head.has_transfer_encoding) {
      co_await finish(c, serialize(error_response(411,
                                                  "send a request body with a "
                                                  "Content-Length (none is needed)"),
                                   false, true));
      co_return;
    }
    const uint64_t length = head.content_length.value_or(0);
    if (length > kMaxBody) {
      co_await finish(
          c, serialize(error_response(413, "request body larger than 64KiB"), false, true));
      co_return;
    }
    const size_t used = head.size + static_cast<size_t>(length);
    while (buf.size() < used) {
      if (!co_await read_more(*c, buf)) {
        c->close();
        co_return;
      }
    }

    const std::string_view body(buf.data() + head.size, static_cast<size_t>(length));
    Response r = st->answer(Request{.method = method,
                                    .target = target,
                                    .authorization = auth,
                                    .peer = peer,
                                    .cookie = cookie,
                                    .origin = origin,
                                    .sec_fetch_site = fetch_site,
                                    .host = host,
                                    .accept = accept,
                                    .forwarded_proto = proto,
                                    .body = body});
    const bool keep = keep_alive && !r.close && !st->stopping;
    std::string out = serialize(r, method == "HEAD", !keep);
    if (!keep) {
      co_await finish(c, std::move(out));
      co_return;
    }
    auto [ec, n] = co_await asio::async_write(c->socket, asio::buffer(out), use_tuple);
    if (ec) {
      c->close();
      co_return;
    }
    buf.erase(0, used);
  }
}

asio::awaitable<void> serve_logged(std::shared_ptr<State> st, std::shared_ptr<Connection> c,
                                   std::string peer) {
  try {
    co_await serve(st, c, std::move(peer));
  } catch (const std::exception& e) {
    log_error(std::string("admin API: connection dropped: ") + e.what());
  }
  c->close();
}

// Samples the status page's history now and every interval until the server stops.
asio::awaitable<void> sample_loop(std::shared_ptr<State> st) {
  while (!st->stopping) {
    try {
      st->sample();
    } catch (const std::exception& e) {
      log_error(std::string("status page: sampling: ") + e.what());
    }
    st->sampler.expires_after(TrafficHistory::kInterval);
    auto [ec] = co_await st->sampler.async_wait(use_tuple);
    if (ec) co_return;
  }
}

asio::awaitable<void> accept_loop(std::shared_ptr<State> st) {
  for (;;) {
    auto [ec, sock] = co_await st->acceptor.async_accept(use_tuple);
    if (st->stopping) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // Out of file descriptors or memory: wait a little instead of spinning.
      log_error("admin API: accept: " + ec.message());
      asio::steady_timer pause(st->ctx, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      if (st->stopping) co_return;
      continue;
    }
    if (st->open_connections() >= kMaxConnections) {
      error_code ignored;
      sock.close(ignored);
      continue;
    }
    error_code pec;
    auto remote = sock.remote_endpoint(pec);
    std::string peer = pec ? std::string("?") : remote.address().to_string();
    auto c = std::make_shared<Connection>(std::move(sock));
    st->connections.push_back(c);
    asio::co_spawn(st->ctx, serve_logged(st, c, std::move(peer)), asio::detached);
  }
}

}  // namespace

AdminServer::AdminServer(asio::io_context& ctx, tcp::endpoint listen, std::string token,
                         Hooks hooks)
    : state_(std::make_shared<detail::AdminState>(ctx)) {
  state_->token = std::move(token);
  state_->hooks = std::move(hooks);
  auto& acc = state_->acceptor;
  error_code ec;
  acc.open(listen.protocol(), ec);
  if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && listen.address().is_v6()) acc.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acc.bind(listen, ec);
  if (!ec) acc.listen(kBacklog, ec);
  if (ec)
    throw std::runtime_error("admin_listen " + endpoint_text(listen) +
                             ": cannot listen: " + ec.message());
}

AdminServer::~AdminServer() = default;

void AdminServer::start() {
  if (state_->started) return;
  state_->started = true;
  asio::co_spawn(state_->ctx, accept_loop(state_), asio::detached);
  asio::co_spawn(state_->ctx, sample_loop(state_), asio::detached);
}

void AdminServer::stop() {
  asio::dispatch(state_->ctx, [st = state_] {
    if (st->stopping) return;
    st->stopping = true;
    error_code ignored;
    st->acceptor.close(ignored);
    st->sampler.cancel();
    for (auto& w : st->connections)
      if (auto c = w.lock()) c->close();
    st->connections.clear();
  });
}

void AdminServer::set_token(std::string token) {
  if (token != state_->token) state_->sessions.clear();
  state_->token = std::move(token);
}

tcp::endpoint AdminServer::local_endpoint() const {
  error_code ec;
  return state_->acceptor.local_endpoint(ec);
}

}  // namespace proxy::admin
