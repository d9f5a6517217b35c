#include "proxy/worker.h"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <stdexcept>

#include "proxy/http/session.h"
#include "proxy/log.h"
#include "proxy/mail/mail_session.h"
#include "proxy/tcp/tcp_session.h"
#include "tls/tls_stream.h"

namespace proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// How often deadlines are checked: a timeout fires at most this late. One timer per worker,
// not one per connection or operation.
constexpr auto kTick = std::chrono::milliseconds(100);
constexpr int kBacklog = 4096;
}  // namespace

Worker::Worker(unsigned index, std::shared_ptr<const Snapshot> snapshot, AccessLog* log)
    : ctx_(index, std::move(snapshot), log) {}

Worker::~Worker() {
  join();
  ctx_.upstreams_.clear();
}

void Worker::bind(const std::vector<BoundListener>& listeners) {
  ctx_.count_listeners(listeners.size());
  for (const auto& l : listeners) {
    auto acc = std::make_unique<tcp::acceptor>(ctx_.io());
    boost::system::error_code ec;
    acc->open(l.endpoint.protocol(), ec);
    if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec.assign(errno, boost::system::system_category());
    }
    if (!ec && l.endpoint.address().is_v6()) acc->set_option(asio::ip::v6_only(true), ec);
    // Accepted sockets inherit TCP_NODELAY from the listening socket (Linux): one setsockopt
    // here instead of one per connection.
    if (!ec) acc->set_option(tcp::no_delay(true), ec);
    if (!ec) acc->bind(l.endpoint, ec);
    if (!ec) acc->listen(kBacklog, ec);
    if (ec)
      throw std::runtime_error("listener \"" + l.name + "\": cannot listen on " +
                               l.endpoint.address().to_string() + ":" +
                               std::to_string(l.endpoint.port()) + ": " + ec.message());
    acceptors_.push_back(std::move(acc));
    accept_peers_.emplace_back();
    listener_names_.push_back(l.name);
    listener_tls_.push_back(l.tls);
    listener_tcp_.push_back(l.settings && l.settings->protocol == Protocol::Tcp);
    listener_mail_.push_back(l.settings && is_mail(l.settings->protocol));
  }
}

void Worker::start() {
  for (size_t i = 0; i < acceptors_.size(); ++i) accept_loop(i);
  tick();
  thread_ = std::thread([this] {
    ctx_.io().run();
    ctx_.log_.flush();
  });
}

void Worker::accept_loop(size_t i) {
  // The peer address comes with the accept: no getpeername() per connection.
  acceptors_[i]->async_accept(accept_peers_[i], [this, i](boost::system::error_code ec,
                                                          tcp::socket sock) {
    if (ctx_.stopping_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // Out of file descriptors or memory: wait a little instead of spinning.
      log_error("accept on listener \"" + listener_names_[i] + "\": " + ec.message());
      auto t = std::make_shared<asio::steady_timer>(ctx_.io(), std::chrono::milliseconds(100));
      t->async_wait([this, i, t](auto) {
        if (!ctx_.stopping_) accept_loop(i);
      });
      return;
    }
    boost::system::error_code ignored;
    tcp::endpoint peer = accept_peers_[i];
    ctx_.listener_traffic_[i].accepted.add();
    // Listener indexes are stable across reloads (a reload may not change the listener set).
    size_t listener_index = i;
    routing::Country country;
    // TCP sessions decide once a PROXY header may have named the real client.
    if (!listener_tcp_[i] && !listener_mail_[i] &&
        ctx_.admit(i, peer.address(), country) != routing::Refusal::None) {
      sock.close(ignored);  // refused before TLS and before any byte is read
      accept_loop(i);
      return;
    }
    if (listener_tcp_[i]) {
      tcp_relay::start_tcp_session(ctx_, std::move(sock), listener_index, peer, listener_tls_[i]);
    } else if (listener_mail_[i]) {
      mail::start_mail_session(ctx_, std::move(sock), listener_index, peer, listener_tls_[i]);
    } else if (const tls::ServerTls* t = listener_tls_[i]) {
      if (SSL* ssl = t->new_ssl()) {
        http::start_https_session(ctx_, tls::Stream(std::move(sock), ssl), listener_index, peer,
                                  country);
      }  // else: out of memory in OpenSSL; the socket closes
    } else {
      http::start_http_session(ctx_, std::move(sock), listener_index, peer, country);
    }
    accept_loop(i);
  });
}

void Worker::tick() {
  tick_timer_.expires_after(kTick);
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    auto now = Clock::now();
    ctx_.wheel_.advance(now, [](TrackedConnection& c) { c.expire(); });
    // A drained node's work is cut after its drain_timeout: only while a node is not active
    // are the connections gone through for it.
    if (drain_cut_possible()) {
      for (auto it = ctx_.connections_.begin(); it != ctx_.connections_.end();) {
        TrackedConnection& c = *it++;  // expire() may not unlink synchronously, but be safe
        if (c.drain_cut_due(now)) c.expire();
      }
    }
    ctx_.upstreams_.sweep(now, [&](const routing::Node* node) -> std::optional<Clock::duration> {
      for (const auto& p : ctx_.snapshot_->pools())
        for (const routing::Node* n : p->nodes())
          if (n == node) return p->settings().idle_timeout;
      return std::nullopt;
    });
    ctx_.log_.flush();
    if (ctx_.stopping_) finish_if_drained();
    if (!ctx_.stopping_ || !ctx_.connections_.empty()) tick();
  });
}

bool Worker::drain_cut_possible() const {
  for (const auto& p : ctx_.snapshot_->pools())
    for (const routing::Node* n : p->nodes())
      if (n->admin() != routing::Admin::Active) return true;
  return false;
}

void Worker::swap_snapshot(std::shared_ptr<const Snapshot> snapshot) {
  asio::post(ctx_.io(),
             [this, s = std::move(snapshot)]() mutable { ctx_.snapshot_ = std::move(s); });
}

void Worker::swap_geo(std::shared_ptr<const routing::GeoDatabase> geo) {
  asio::post(ctx_.io(), [this, g = std::move(geo)]() mutable { ctx_.geo_ = std::move(g); });
}

void Worker::stop(std::chrono::milliseconds grace) {
  asio::post(ctx_.io(), [this, grace] {
    if (ctx_.stopping_) return;
    ctx_.stopping_ = true;
    for (auto& a : acceptors_) {
      boost::system::error_code ignored;
      a->close(ignored);
    }
    for (auto it = ctx_.connections_.begin(); it != ctx_.connections_.end();)
      (it++)->stop_gracefully();
    ctx_.upstreams_.clear();
    grace_timer_.expires_after(grace);
    grace_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      // Grace period over: whatever is still running is cut.
      for (auto it = ctx_.connections_.begin(); it != ctx_.connections_.end();) (it++)->expire();
      ctx_.io().stop();
    });
    finish_if_drained();
  });
}

void Worker::finish_if_drained() {
  if (ctx_.connections_.empty()) {
    tick_timer_.cancel();
    grace_timer_.cancel();
    ctx_.upstreams_.clear();
    ctx_.io().stop();
  }
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace proxy
