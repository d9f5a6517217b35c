#include "proxy/tcp/tcp_session.h"

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <optional>

#include "proxy/health/passive.h"
#include "proxy/log.h"
#include "proxy/peek.h"
#include "proxy/tcp/auto_pump.h"
#include "proxy/tcp/proxy_header.h"
#include "proxy/tcp/relay.h"
#include "proxy/tcp/session_line.h"
#include "proxy/tcp/splice_pump.h"
#include "proxy/upstream/connector.h"
#include "proxy/upstream/socket_transport.h"
#include "proxy/worker_context.h"
#include "routing/node_state.h"
#include "tls/handshake_result.h"
#include "tls/server_tls.h"
#include "tls/tls_stream.h"

namespace proxy::tcp_relay {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;
using routing::Cidr;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr auto kCloseNotifyTime = Millis(1000);
// Plain TCP on both sides: relay with recv/send through a pooled buffer, then with splice(2)
// through a pipe once a direction shows bulk (auto_pump.h; see bench/README.md for the
// measurements behind the choice).
constexpr bool kSplicePlain = true;

class TcpSession final : public TrackedConnection, private upstream::DialWatch {
 public:
  TcpSession(WorkerContext& w, tcp::socket sock, size_t listener, tcp::endpoint peer,
             const tls::ServerTls* tls)
      : w_(w),
        snap_(w.snapshot()),
        ls_(snap_->config().listeners[listener]),
        sock_(std::move(sock)),
        server_tls_(tls),
        peer_(peer),
        client_(peer),
        listener_(listener) {
    w_.connections().push_back(*this);
    w_.listener_traffic(listener_).active.add(1);
  }
  ~TcpSession() {
    count_end();
    w_.listener_traffic(listener_).active.add(-1);
  }

  static void start(std::unique_ptr<TcpSession> self) {
    TcpSession& s = *self;
    asio::co_spawn(s.w_.io(), s.run(), [self = std::move(self)](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log_error(std::string("tcp session: ") + ex.what());
        }
      }
    });
  }

  void expire() override {
    if (!cause_) cause_ = w_.stopping() ? "stopped" : relaying_ ? "idle_timeout" : "timeout";
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

  // Open sessions run on through a stop until the grace period ends (the worker then expires
  // them): a mail session has no request boundary to stop at.
  void stop_gracefully() override {}

  bool drain_cut_due(Clock::time_point now) const override {
    if (!node_ || !routing::drain_expired(*node_, drain_timeout_, now)) return false;
    const_cast<TcpSession*>(this)->drain_cut_ = true;
    return true;
  }

 private:
  tcp::socket& client_socket() { return tls_ ? tls_->lowest_layer() : sock_; }
  tcp::socket& upstream_socket() { return up_->socket(); }

  // upstream::DialWatch: a dial runs under the listener's connect_timeout. A deadline, not a
  // stop or a drain, cut it when the session was stopped for no other reason: the connector
  // then tries another node.
  void dialing(upstream::Stream* stream, Millis timeout) override {
    dialing_ = stream;
    if (stream) deadline_in(timeout);
  }
  bool dial_expired() override {
    const bool deadline = stop_ && !w_.stopping() && !drain_cut_;
    if (deadline) {
      stop_ = false;
      cause_ = nullptr;
    }
    return deadline;
  }
  bool dial_stopped() const override { return stop_; }
  void deadline_in(Millis d) { set_deadline(w_.now() + d); }

  awaitable<void> run();
  awaitable<bool> read_proxy_header();
  awaitable<bool> connect(const routing::Pool& pool);
  enum class Opening : uint8_t { NodeFirst, ClientFirst, NodeClosed, Ended };
  awaitable<Opening> opening();
  template <class Client>
  awaitable<void> relay(Client& client);
  template <class Client>
  awaitable<void> close_client(Client& client);
  void log_session();
  // Counts the session's bytes and duration once, when it ends (or is cut).
  void count_end();
  routing::NodeTraffic& traffic(const routing::Node& node) { return node.traffic(w_.index()); }

  WorkerContext& w_;
  std::shared_ptr<const Snapshot> snap_;  // keeps the pool and its nodes for the whole session
  const ListenerSettings& ls_;
  tcp::socket sock_;                     // the client, until TLS takes it over
  std::optional<tls::Stream> tls_;       // the client, on a TLS listener
  upstream::Stream* dialing_ = nullptr;  // while a dial runs, for expire()
  upstream::Connection* up_ = nullptr;   // the node's connection, once connected
  std::optional<upstream::Attempt<upstream::Connection>> attempt_;  // lease and connection
  const tls::ServerTls* server_tls_;
  tcp::endpoint peer_;    // who connected
  tcp::endpoint client_;  // the client: the peer, or the source of its PROXY header
  std::optional<tcp::endpoint> destination_;  // from the PROXY header
  routing::Country country_;                  // of the client, with a [geoip] database
  const routing::Node* node_ = nullptr;
  std::string_view pool_name_;
  Millis drain_timeout_{0};
  Clock::time_point start_ = Clock::now();
  Clock::time_point connected_{};
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  const char* cause_ = nullptr;
  bool stop_ = false;
  bool relaying_ = false;
  bool drain_cut_ = false;
  bool handshaken_ = false;
  bool logged_ = false;
  bool counted_ = false;
  size_t listener_;
};

awaitable<void> TcpSession::run() {
  const bool trusted = std::any_of(ls_.accept_proxy.begin(), ls_.accept_proxy.end(),
                                   [&](const Cidr& c) { return c.contains(peer_.address()); });
  if (trusted && !co_await read_proxy_header()) co_return log_session();
  // Country and access rule: on the real client's address, before TLS and before any node.
  switch (w_.admit(listener_, client_.address(), country_)) {
    case routing::Refusal::None:
      break;
    case routing::Refusal::Source:
      cause_ = "refused_source";
      co_return log_session();
    case routing::Refusal::Country:
      cause_ = "refused_country";
      co_return log_session();
    case routing::Refusal::UnknownCountry:
      cause_ = "refused_unknown_country";
      co_return log_session();
  }

  if (server_tls_) {
    SSL* ssl = server_tls_->new_ssl();
    if (!ssl) {
      cause_ = "tls_out_of_memory";
      co_return log_session();
    }
    tls_.emplace(std::move(sock_), ssl);
    deadline_in(ls_.handshake_timeout);
    auto [ec] = co_await tls_->async_handshake(use_tuple);
    ListenerTraffic& lt = w_.listener_traffic(listener_);
    if (ec) {
      lt.handshakes_failed[static_cast<size_t>(tls::classify_handshake_error(ec, stop_))].add();
      if (!cause_) cause_ = "tls_handshake_failed";
      co_return log_session();
    }
    lt.handshakes_ok[static_cast<size_t>(tls_->version())].add();
    handshaken_ = true;
  }

  const routing::Pool* pool = snap_->find_pool(ls_.pool);
  if (!pool) {
    cause_ = "no_pool";
  } else if (co_await connect(*pool)) {
    if (tls_)
      co_await relay(*tls_);
    else
      co_await relay(sock_);
  }
  if (handshaken_ && !relaying_) co_await close_client(*tls_);
  log_session();
}

// The PROXY header of a trusted front balancer: peeked, then consumed to its exact length, so
// the bytes after it (a TLS ClientHello, say) stay in the socket for what comes next.
awaitable<bool> TcpSession::read_proxy_header() {
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

awaitable<bool> TcpSession::connect(const routing::Pool& pool) {
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

// Who speaks first. A node that closes before its first byte, while nothing of the client went
// to it, never saw the session, which moves to another node: a mail server that is stopping
// takes connections into its listening socket's backlog, then closes them unanswered. Mail
// servers greet first; a client that speaks first (or closes) ends the wait and its session
// stays on this node. Sockets are peeked before each wait: a readiness edge that came before
// the wait was armed would not wake it.
awaitable<TcpSession::Opening> TcpSession::opening() {
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
awaitable<void> TcpSession::close_client(Client& client) {
  if constexpr (!std::is_same_v<Client, tcp::socket>) {
    deadline_in(kCloseNotifyTime);
    co_await client.async_shutdown(use_tuple);
  }
  error_code ignored;
  client.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
}

template <class Client>
awaitable<void> TcpSession::relay(Client& client) {
  using namespace asio::experimental::awaitable_operators;
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
  // Copying needs a buffer per direction (16 KiB, from the worker's pool); on plain TCP the
  // auto pump holds one only until it switches to a pipe.
  constexpr bool kSplice = kSplicePlain && std::is_same_v<Client, tcp::socket>;
  std::optional<http::BodyBuffer> up_buf, down_buf;
  if constexpr (!kSplice) {
    up_buf.emplace(w_.buffers());
    down_buf.emplace(w_.buffers());
  }
  auto one_way = [&](auto& from, auto& to, std::optional<http::BodyBuffer>& buf, uint64_t& bytes,
                     bool check_first) -> awaitable<PumpEnd> {
    if constexpr (kSplice)
      return auto_pump(from, to, w_.buffers(), bytes, progress, stop_, check_first);
    else
      return pump(from, to, std::span(buf->data(), buf->size()), bytes, progress, stop_,
                  check_first);
  };
  // A side's FIN is passed on with shutdown(2) only while the other direction still flows
  // (a half-close); once both sides have sent theirs, closing the sockets is enough.
  bool up_fin = false, down_fin = false;
  // Client to node: a PROXY header from a source not trusted to send one is refused.
  auto up = [&]() -> awaitable<void> {
    PumpEnd end = co_await one_way(client, upstream_socket(), up_buf, bytes_in_, true);
    if (end == PumpEnd::Fin) {
      ended("client_fin");
      up_fin = true;
      error_code ignored;
      if (!down_fin) upstream_socket().shutdown(tcp::socket::shutdown_send, ignored);
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
    PumpEnd end = co_await one_way(upstream_socket(), client, down_buf, bytes_out_, false);
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
  co_await (up() && down());
  // The first side to end names the cause, unless a deadline or a stop cut both.
  if (!cause_) cause_ = first_end ? first_end : "closed";
}

void TcpSession::count_end() {
  if (counted_) return;
  counted_ = true;
  const auto took = w_.now() - start_;
  ListenerTraffic& lt = w_.listener_traffic(listener_);
  lt.received_bytes.add(bytes_in_);
  lt.sent_bytes.add(bytes_out_);
  lt.session_time.observe(took);
  if (!node_) return;
  routing::NodeTraffic& nt = traffic(*node_);
  nt.sent_bytes.add(bytes_in_);
  nt.received_bytes.add(bytes_out_);
  nt.session_time.observe(took);
}

void TcpSession::log_session() {
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
  format_session_line(line, log.line_buffer());
  log.line_done();
}

}  // namespace

void start_tcp_session(WorkerContext& worker, tcp::socket socket, size_t listener,
                       tcp::endpoint peer, const tls::ServerTls* tls) {
  TcpSession::start(std::make_unique<TcpSession>(worker, std::move(socket), listener, peer, tls));
}

}  // namespace proxy::tcp_relay
