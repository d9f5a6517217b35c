#include "proxy/tcp/relay_session.h"

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "proxy/both_ways.h"
#include "proxy/log.h"
#include "proxy/peek.h"
#include "proxy/tcp/proxy_header.h"
#include "proxy/tcp/relay.h"
#include "proxy/tcp/splice_pump.h"
#include "proxy/upstream/socket_transport.h"
#include "proxy/worker_context.h"
#include "routing/node_state.h"
#include "tls/handshake_result.h"
#include "tls/server_tls.h"

namespace proxy::tcp_relay {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using boost::system::error_code;
using routing::Cidr;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr auto kCloseNotifyTime = Millis(1000);
// Plain TCP on both sides: relay with recv/send through a pooled buffer, then with splice(2)
// through a pipe once a direction shows bulk (auto_pump.h; see bench/README.md for the
// measurements behind the choice).
constexpr bool kSplicePlain = true;

}  // namespace

RelaySession::RelaySession(WorkerContext& w, tcp::socket sock, size_t listener, tcp::endpoint peer,
                           const tls::ServerTls* tls)
    : w_(w),
      snap_(w.snapshot()),
      ls_(snap_->config().listeners[listener]),
      sock_(std::move(sock)),
      server_tls_(tls),
      peer_(peer),
      client_(peer),
      start_(Clock::now()),
      listener_(listener) {
  w_.track(*this);
  w_.listener_traffic(listener_).active.add(1);
}

RelaySession::~RelaySession() {
  count_end();
  w_.listener_traffic(listener_).active.add(-1);
}

void RelaySession::deadline_in(Millis d) {
  set_deadline(w_.now() + d);
}

void RelaySession::expire() {
  if (!cause_) cause_ = w_.stopping() ? "stopped" : relaying_ ? "idle_timeout" : timeout_cause_;
  if (drain_cut_) cause_ = "drain_timeout";
  stop_ = true;
  error_code ignored;
  client_socket().cancel(ignored);
  if (dialing_) dialing_->lowest_layer().cancel(ignored);
  if (up_) up_->socket().cancel(ignored);
  // At the end of a stop's grace period the worker stops its io_context right after this:
  // the session would not get to write its line.
  if (w_.stopping()) log_session();
}

bool RelaySession::drain_cut_due(Clock::time_point now) const {
  if (!node_ || !routing::drain_expired(*node_, drain_timeout_, now)) return false;
  const_cast<RelaySession*>(this)->drain_cut_ = true;
  return true;
}

void RelaySession::dialing(upstream::Stream* stream, Millis timeout) {
  dialing_ = stream;
  if (stream) deadline_in(timeout);
}

bool RelaySession::dial_expired() {
  const bool deadline = stop_ && !w_.stopping() && !drain_cut_;
  if (deadline) {
    stop_ = false;
    cause_ = nullptr;
  }
  return deadline;
}

awaitable<bool> RelaySession::admit_client() {
  const bool trusted = std::any_of(ls_.accept_proxy.begin(), ls_.accept_proxy.end(),
                                   [&](const Cidr& c) { return c.contains(peer_.address()); });
  if (trusted && !co_await read_proxy_header()) co_return false;
  // Country and access rule: on the real client's address, before TLS and before any node.
  switch (w_.admit(listener_, client_.address(), country_)) {
    case routing::Refusal::None:
      co_return true;
    case routing::Refusal::Source:
      cause_ = "refused_source";
      break;
    case routing::Refusal::Country:
      cause_ = "refused_country";
      break;
    case routing::Refusal::UnknownCountry:
      cause_ = "refused_unknown_country";
      break;
  }
  co_return false;
}

awaitable<bool> RelaySession::handshake_client() {
  SSL* ssl = server_tls_ ? server_tls_->new_ssl() : nullptr;
  if (!ssl) {
    cause_ = "tls_out_of_memory";
    co_return false;
  }
  tls_.emplace(std::move(sock_), ssl);
  deadline_in(ls_.handshake_timeout);
  auto [ec] = co_await tls_->async_handshake(use_tuple);
  ListenerTraffic& lt = w_.listener_traffic(listener_);
  if (ec) {
    lt.handshakes_failed[static_cast<size_t>(tls::classify_handshake_error(ec, stop_))].add();
    if (!cause_) cause_ = "tls_handshake_failed";
    co_return false;
  }
  lt.handshakes_ok[static_cast<size_t>(tls_->version())].add();
  handshaken_ = true;
  co_return true;
}

awaitable<void> RelaySession::finish() {
  if (handshaken_ && !relaying_) co_await close_client(*tls_);
  log_session();
}

// The PROXY header of a trusted front balancer: peeked, then consumed to its exact length, so
// the bytes after it (a TLS ClientHello, say) stay in the socket for what comes next.
awaitable<bool> RelaySession::read_proxy_header() {
  deadline_in(ls_.handshake_timeout);
  std::array<uint8_t, kMaxV2Header> buf;
  ssize_t seen = 0;
  asio::steady_timer pause(w_.io());
  for (;;) {
    ssize_t n = ::recv(sock_.native_handle(), buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
      cause_ = "client_closed_before_proxy_header";
      co_return false;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      cause_ = "client_error";
      co_return false;
    }
    if (n > 0) {
      ParsedHeader h = parse_proxy_header({buf.data(), static_cast<size_t>(n)});
      if (h.status == ParseStatus::Invalid) {
        log_error("listener \"" + ls_.name + "\": " + peer_.address().to_string() + ": " +
                  std::string(h.error));
        cause_ = "bad_proxy_header";
        co_return false;
      }
      if (h.status == ParseStatus::Complete) {
        ssize_t got = ::recv(sock_.native_handle(), buf.data(), h.length, MSG_DONTWAIT);
        if (got != static_cast<ssize_t>(h.length)) {
          cause_ = "client_error";
          co_return false;
        }
        if (h.has_addresses) {
          client_ = h.source;
          destination_ = h.destination;
        }
        co_return true;
      }
    }
    if (n > 0 && n == seen) {
      // Part of the header is here and nothing new came. A FIN behind it (a peek shows the
      // bytes, never the end of the stream after them): the rest will never come.
      pollfd p{.fd = sock_.native_handle(), .events = POLLRDHUP, .revents = 0};
      if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
        cause_ = "client_closed_before_proxy_header";
        co_return false;
      }
      // Otherwise wait a little for the rest rather than wake at once on bytes already seen.
      pause.expires_after(Millis(5));
      co_await pause.async_wait(use_tuple);
    } else {
      seen = n > 0 ? n : seen;
      auto [ec] = co_await sock_.async_wait(tcp::socket::wait_read, use_tuple);
      if (ec) {
        if (!cause_) cause_ = "client_error";
        co_return false;
      }
    }
    if (stop_) co_return false;
  }
}

awaitable<bool> RelaySession::connect(const routing::Pool& pool) {
  pool_name_ = pool.name();
  upstream::DialOptions options{.proxy = pool.settings().proxy_protocol};
  if (options.proxy != routing::ProxyProtocol::Off) {
    error_code ignored;
    options.proxy_source = client_;
    options.proxy_destination =
        destination_ ? *destination_ : client_socket().local_endpoint(ignored);
    if (handshaken_) {
      options.client_tls = {.used = true,
                            .version = tls::tls_version_name(tls_->version()),
                            .cipher = tls_->cipher_name(),
                            .server_name = tls_->server_name()};
    }
  }
  upstream::SocketTransport transport(w_.io().get_executor(), nullptr, *this, ls_.connect_timeout,
                                      options, w_.index());
  upstream::Connector connector(transport, w_.random(), w_.index());
  upstream::Attempt<upstream::Connection>& a = attempt_.emplace(pool);
  a.pick = [this, &pool](const routing::PickContext& ctx) { return choose_node(pool, ctx); };
  while (co_await connector.connect(a, false, false)) {
    routing::Node& node = *a.node();
    up_ = a.conn.get();
    node_ = &node;
    drain_timeout_ = pool.settings().health.drain_timeout;
    connected_ = w_.now();
    const Opening opened = co_await opening();
    if (opened == Opening::Ended) co_return false;
    if (opened == Opening::NodeClosed) {
      relaying_ = false;
      up_ = nullptr;
      node_ = nullptr;
      connector.node_failed(a);
      continue;
    }
    connector.succeeded(a);
    co_return true;
  }
  if (!cause_)
    cause_ = a.ntried == 0                                    ? "no_usable_node"
             : a.failure() == upstream::NoConnection::Timeout ? "connect_timeout"
                                                              : "connect_failed";
  co_return false;
}

void RelaySession::release_node() {
  up_ = nullptr;
  node_ = nullptr;
  attempt_.reset();
}

// Who speaks first. A node that closes before its first byte, while nothing of the client went
// to it, never saw the session, which moves to another node: a mail server that is stopping
// takes connections into its listening socket's backlog, then closes them unanswered. Mail
// servers greet first; a client that speaks first (or closes) ends the wait and its session
// stays on this node. Sockets are peeked before each wait: a readiness edge that came before
// the wait was armed would not wake it.
awaitable<RelaySession::Opening> RelaySession::opening() {
  using namespace asio::experimental::awaitable_operators;
  relaying_ = true;  // a deadline from here on is the relay's idle timeout
  deadline_in(ls_.idle_timeout);
  for (;;) {
    // The client first: in a client-first protocol its bytes are usually here already.
    if (tls_ && tls_->has_buffered_input()) co_return Opening::ClientFirst;
    if (peek(client_socket().native_handle()) != Peek::Nothing) co_return Opening::ClientFirst;
    switch (peek(upstream_socket().native_handle())) {
      case Peek::Data:
        co_return Opening::NodeFirst;
      case Peek::Closed:
        co_return Opening::NodeClosed;
      case Peek::Nothing:
        break;
    }
    co_await (upstream_socket().async_wait(tcp::socket::wait_read, use_tuple) ||
              client_socket().async_wait(tcp::socket::wait_read, use_tuple));
    if (stop_) co_return Opening::Ended;
  }
}

template <class Client>
awaitable<void> RelaySession::close_client(Client& client) {
  if constexpr (!std::is_same_v<Client, tcp::socket>) {
    deadline_in(kCloseNotifyTime);
    co_await client.async_shutdown(use_tuple);
  }
  error_code ignored;
  client.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
}

// The half-close towards the node, while its answers still flow: no deadline of its own.
template <class Node>
awaitable<void> RelaySession::close_node(Node& node) {
  if constexpr (!std::is_same_v<Node, tcp::socket>) co_await node.async_shutdown(use_tuple);
  error_code ignored;
  node.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
}

// The node's side is TLS after a mail session's STARTTLS with it (node_tls).
// Not a coroutine: no frame of its own for the whole session.
awaitable<void> RelaySession::relay() {
  tls::Stream* node_tls = up_ ? up_->stream.tls() : nullptr;
  if (tls_ && node_tls) return relay_with(*tls_, *node_tls);
  if (tls_) return relay_with(*tls_, upstream_socket());
  if (node_tls) return relay_with(sock_, *node_tls);
  return relay_with(sock_, upstream_socket());
}

template <class Client, class Node>
awaitable<void> RelaySession::relay_with(Client& client, Node& node) {
  relaying_ = true;
  auto progress = [this] { deadline_in(ls_.idle_timeout); };
  const char* first_end = nullptr;  // the side that ended first names the cause
  auto ended = [&](const char* what) {
    if (!first_end) first_end = what;
  };
  auto cut = [this] {
    stop_ = true;
    error_code ignored;
    client_socket().cancel(ignored);
    upstream_socket().cancel(ignored);
  };
  // Copying holds a buffer from the worker's pool (16 KiB) only while bytes flow (relay.h); on
  // plain TCP both sides, a direction switches to a pipe once it shows bulk (relay.h).
  auto one_way = [&](auto& from, auto& to, uint64_t& bytes,
                     bool check_first) -> awaitable<PumpEnd> {
    return pump(from, to, w_.buffers(), bytes, progress, stop_, check_first, kSplicePlain);
  };
  // A side's FIN is passed on with shutdown(2) only while the other direction still flows
  // (a half-close); once both sides have sent theirs, closing the sockets is enough.
  bool up_fin = false, down_fin = false;
  // Client to node: a PROXY header from a source not trusted to send one is refused.
  auto up = [&]() -> awaitable<void> {
    PumpEnd end = co_await one_way(client, node, bytes_in_, true);
    if (end == PumpEnd::Fin) {
      ended("client_fin");
      up_fin = true;
      // On TLS the node gets a close_notify first.
      if (!down_fin) co_await close_node(node);
      co_return;
    }
    ended(end == PumpEnd::ProxyHeader  ? "proxy_header_refused"
          : end == PumpEnd::WriteError ? "node_error"
                                       : "client_error");
    if (end == PumpEnd::ProxyHeader)
      log_error("listener \"" + ls_.name + "\": " + peer_.address().to_string() +
                " sent a PROXY header but is not in accept_proxy: closed");
    cut();
  };
  auto down = [&]() -> awaitable<void> {
    PumpEnd end = co_await one_way(node, client, bytes_out_, false);
    if (end == PumpEnd::Fin) {
      ended("node_fin");
      down_fin = true;
      // On TLS the close_notify goes out in any case.
      if (!std::is_same_v<Client, tcp::socket> || !up_fin) co_await close_client(client);
      co_return;
    }
    ended(end == PumpEnd::WriteError ? "client_error" : "node_error");
    cut();
  };
  co_await both_ways(up(), down(), cut);
  // The first side to end names the cause, unless a deadline or a stop cut both.
  if (!cause_) cause_ = first_end ? first_end : "closed";
}

void RelaySession::count_end() {
  if (counted_) return;
  counted_ = true;
  const auto took = w_.now() - start_;
  ListenerTraffic& lt = w_.listener_traffic(listener_);
  lt.received_bytes.add(bytes_in_);
  lt.sent_bytes.add(bytes_out_);
  lt.session_time.observe(took);
  if (!node_) return;
  routing::NodeTraffic& nt = node_->traffic(w_.index());
  nt.sent_bytes.add(bytes_in_);
  nt.received_bytes.add(bytes_out_);
  nt.session_time.observe(took);
}

void RelaySession::log_session() {
  count_end();
  LogBuffer& log = w_.log();
  if (logged_ || !log.enabled()) return;
  logged_ = true;
  using Seconds = std::chrono::duration<double>;
  auto end = w_.now();
  std::string client_ip = client_.address().to_string();
  SessionLine line{.client = client_ip,
                   .client_port = client_.port(),
                   .listener = ls_.name,
                   .pool = pool_name_,
                   .node = node_ ? std::string_view(node_->name()) : std::string_view(),
                   .bytes_in = bytes_in_,
                   .bytes_out = bytes_out_,
                   .connect_seconds = node_ ? Seconds(connected_ - start_).count() : -1.0,
                   .total_seconds = Seconds(end - start_).count(),
                   .cause = cause_ ? cause_ : "closed",
                   .country = w_.has_geo() ? country_.code() : std::string_view()};
  describe(line);
  format_session_line(line, log.line_buffer());
  log.line_done();
}

}  // namespace proxy::tcp_relay
