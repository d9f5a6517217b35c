// What every relayed session on a TCP-style listener shares (protocol = "tcp" and the mail
// protocols): the PROXY header of a trusted front balancer, the listener's access rule, the
// client's TLS handshake (at accept, or after a STARTTLS), the connection to a node of the pool
// with retries on other nodes and its lease held for the whole session, the byte relay both
// ways (splice on plain TCP, half-close, bounded buffers, idle timeout), drain and stop, and one
// access log line. A session type adds its run() and what happens once a node is connected.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "proxy/config/settings.h"
#include "proxy/connection_registry.h"
#include "proxy/snapshot.h"
#include "proxy/tcp/session_line.h"
#include "proxy/upstream/connection.h"
#include "proxy/upstream/connector.h"
#include "proxy/upstream/dial_watch.h"
#include "routing/country.h"
#include "tls/tls_stream.h"

namespace proxy {
class WorkerContext;
}
namespace tls {
class ServerTls;
}

namespace proxy::tcp_relay {

class RelaySession : public TrackedConnection, private upstream::DialWatch {
 public:
  RelaySession(WorkerContext& w, boost::asio::ip::tcp::socket sock, size_t listener,
               boost::asio::ip::tcp::endpoint peer, const tls::ServerTls* tls);
  ~RelaySession() override;

  void expire() override;
  // Open sessions run on through a stop until the grace period ends (the worker then expires
  // them): a relayed session has no request boundary to stop at.
  void stop_gracefully() override {}
  bool drain_cut_due(Clock::time_point now) const override;

 protected:
  using tcp = boost::asio::ip::tcp;
  using awaitable_void = boost::asio::awaitable<void>;
  enum class Opening : uint8_t { NodeFirst, ClientFirst, NodeClosed, Ended };

  // The PROXY header of a trusted front, then the access rule. False: the session ends
  // (cause_ says why).
  boost::asio::awaitable<bool> admit_client();
  // The TLS handshake with the client, on its plain socket (a TLS listener, or STARTTLS).
  boost::asio::awaitable<bool> handshake_client();
  // A node of `pool`, with retries on others; opening() runs on each connection made.
  boost::asio::awaitable<bool> connect(const routing::Pool& pool);
  // Once connected: who speaks first (protocol = "tcp"), or a dialogue with the node. NodeClosed
  // moves the session to another node; Ended ends it.
  virtual boost::asio::awaitable<Opening> opening();
  // The node for the session's next connect among the usable ones `ctx` allows.
  virtual routing::NodeLease choose_node(const routing::Pool& pool,
                                         const routing::PickContext& ctx) {
    return pool.pick(ctx);
  }
  // Gives the node up before the relay (the session goes on without it).
  void release_node();
  // Relays both ways until both sides are done (the node's side over TLS after a STARTTLS).
  awaitable_void relay();
  // Ends the session: TLS close_notify to a client that was not relayed, and the log line.
  awaitable_void finish();
  // Adds a session type's own fields to its access log line.
  virtual void describe(SessionLine&) const {}

  tcp::socket& client_socket() { return tls_ ? tls_->lowest_layer() : sock_; }
  boost::asio::ip::tcp::socket& upstream_socket() { return up_->socket(); }
  void deadline_in(Millis d);

  WorkerContext& w_;
  std::shared_ptr<const Snapshot> snap_;  // keeps the pool and its nodes for the whole session
  const ListenerSettings& ls_;
  boost::asio::ip::tcp::socket sock_;    // the client, until TLS takes it over
  std::optional<tls::Stream> tls_;       // the client, once TLS
  upstream::Stream* dialing_ = nullptr;  // while a dial runs, for expire()
  upstream::Connection* up_ = nullptr;   // the node's connection, once connected
  std::optional<upstream::Attempt<upstream::Connection>> attempt_;  // lease and connection
  const tls::ServerTls* server_tls_;
  boost::asio::ip::tcp::endpoint peer_;    // who connected
  boost::asio::ip::tcp::endpoint client_;  // the client: the peer, or its PROXY header's source
  std::optional<boost::asio::ip::tcp::endpoint> destination_;  // from the PROXY header
  routing::Country country_;  // of the client, with a [geoip] database
  const routing::Node* node_ = nullptr;
  std::string_view pool_name_;
  Millis drain_timeout_{0};
  Clock::time_point start_;
  Clock::time_point connected_{};
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  const char* cause_ = nullptr;
  const char* timeout_cause_ = "timeout";  // a deadline before the relay
  bool stop_ = false;
  bool relaying_ = false;
  bool drain_cut_ = false;
  bool handshaken_ = false;
  size_t listener_;

 private:
  // upstream::DialWatch: a dial runs under the listener's connect_timeout. A deadline, not a
  // stop or a drain, cut it when the session was stopped for no other reason: the connector
  // then tries another node.
  void dialing(upstream::Stream* stream, Millis timeout) override;
  bool dial_expired() override;
  bool dial_stopped() const override { return stop_; }

  boost::asio::awaitable<bool> read_proxy_header();
  template <class Client, class Node>
  awaitable_void relay_with(Client& client, Node& node);
  template <class Client>
  awaitable_void close_client(Client& client);
  template <class Node>
  awaitable_void close_node(Node& node);
  void log_session();
  // Counts the session's bytes and duration once, when it ends (or is cut).
  void count_end();

  bool logged_ = false;
  bool counted_ = false;
};

}  // namespace proxy::tcp_relay
