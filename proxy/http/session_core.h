// What the stages of an HTTP/1.1 session share: the client's stream and read buffer, the
// worker's context, the deadline, the config snapshot of the current request and what that
// request did so far. The session (proxy/http/session.cpp) is this plus its life between
// requests; the relay stage (proxy/http/relay.h) works on it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/connection_registry.h"
#include "proxy/http/header_rewrite.h"
#include "proxy/http/message_head.h"
#include "proxy/http/request_log.h"
#include "proxy/http/upstream_attempt.h"
#include "proxy/snapshot.h"
#include "proxy/upstream/idle_pool.h"
#include "proxy/worker_context.h"
#include "routing/country.h"
#include "routing/node_state.h"

namespace proxy::http {

template <class Stream>
class SessionCore : public TrackedConnection {
 public:
  SessionCore(WorkerContext& w, Stream stream, size_t listener, boost::asio::ip::tcp::endpoint peer,
              routing::Country country)
      : w_(w), client_(std::move(stream)), listener_(listener), peer_(peer), country_(country) {}

  const ListenerSettings& listener() const { return snap_->config().listeners[listener_]; }
  void deadline_in(Millis d) { set_deadline(w_.now() + d); }
  auto deadline_fn() {
    return [this](Millis d) { deadline_in(d); };
  }
  routing::NodeTraffic& node_traffic(const routing::Node& node) { return node.traffic(w_.index()); }

  // Answers with an error of Passeur's own; true when the connection stays open.
  boost::asio::awaitable<bool> send_error(unsigned status, std::string_view text, bool close) {
    namespace asio = boost::asio;
    std::string out;
    build_error_response(status, text, close, out, hsts_);
    deadline_in(snap_ ? listener().client_timeout : Millis(5000));
    auto [ec, n] =
        co_await asio::async_write(client_, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
    rec_.bytes_sent += n;
    co_return !close && !ec;
  }

  // Answers a request with an error of Passeur's own, then counts and logs it with the bytes
  // of that answer. True when the connection stays open.
  boost::asio::awaitable<bool> answer_error(const RequestHead& req, unsigned status,
                                            std::string_view text, bool close,
                                            std::string_view why) {
    const bool keep = co_await send_error(status, text, close);
    finish_request(req, status, keep ? "keepalive" : why);
    co_return keep;
  }

  // Every request ends here, whatever its outcome: counted, then logged. `why`: how its
  // exchange ended, for the access log (RequestRecord::close).
  void finish_request(const RequestHead& req, unsigned status, std::string_view why) {
    rec_.close = why;
    finish_request(req, status);
  }
  void finish_request(const RequestHead& req, unsigned status) {
    http::finish_request(RequestSource{.w = w_,
                                       .listener = listener_,
                                       .listener_name = listener().name,
                                       .client = peer_ip_,
                                       .client_port = peer_.port(),
                                       .country = country_},
                         rec_, req, status);
  }

  // The upstream stage's view of this session.
  UpstreamAttempt::Owner upstream_owner() {
    return {w_, *this, upstream_, expired_, rec_.node, rec_.node_name};
  }

  WorkerContext& w_;
  Stream client_;
  boost::beast::flat_buffer cbuf_;
  size_t listener_;
  boost::asio::ip::tcp::endpoint peer_;
  std::string peer_ip_;
  routing::Country country_;  // of the peer, looked up once at accept
  std::string hsts_;  // "Strict-Transport-Security: ...\r\n" for a TLS listener that sets it
  std::shared_ptr<const Snapshot> snap_;
  upstream::Stream* upstream_ = nullptr;  // in use by the current request, for expire()
  Millis drain_timeout_{0};               // of the current request's pool
  size_t pending_head_ = 0;               // bytes of the current request head still in cbuf_
  bool first_ = true;
  bool idle_ = false;
  bool expired_ = false;
  bool close_after_ = false;
  RequestRecord rec_;  // the current request, for the counters and the access log
};

}  // namespace proxy::http
