// An HTTP request's way to a node, on the shared connector (proxy/upstream/): a connection to a
// node of the route's pool (an idle one of this worker, else a new one, with TLS when the pool
// re-encrypts), and after a failure before any response byte, a new connection for the head to
// go again, as proxy/upstream/retry_policy.h allows. Runs under the session's deadline.
#pragma once

#include <memory>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "proxy/connection_registry.h"
#include "proxy/upstream/connector.h"
#include "proxy/upstream/dial_watch.h"
#include "proxy/upstream/idle_pool.h"
#include "proxy/upstream/socket_transport.h"
#include "proxy/worker_context.h"
#include "routing/pool.h"
#include "routing/settings.h"
#include "tls/client_tls.h"

namespace proxy::http {

class UpstreamAttempt final : private upstream::DialWatch {
 public:
  // What the attempt moves of the session that runs it.
  struct Owner {
    WorkerContext& w;
    TrackedConnection& conn;      // its deadline
    upstream::Stream*& in_use;    // the stream the session's expire() cancels
    bool& expired;                // the deadline passed (read and cleared)
    routing::Node*& node;         // the node the request is with now
    std::string_view& node_name;  // its name, for the access log
  };

  UpstreamAttempt(Owner owner, const routing::Pool& pool, const tls::ClientTls* tls,
                  const routing::RouteSettings& route);

  // Affinity for get(): the node the client's cookie names (null: none), the source key
  // (empty: none). Both views must outlive the attempt.
  void set_affinity(routing::Node* affine, std::string_view key) {
    a_.affine = affine;
    a_.affinity_key = key;
  }

  // Chooses a node and gets a connection. A failed connect sends nothing, so another node is
  // tried. False when no node could be reached; `saw_timeout` tells whether a connect timed
  // out. A request with a body never gets an idle connection the node has closed meanwhile.
  boost::asio::awaitable<bool> get(bool has_body, bool& saw_timeout);

  // The head could not be sent, or the connection closed before any response byte: sends
  // `head` again over a new connection when that is allowed. False when it is not (or failed).
  boost::asio::awaitable<bool> resend_head(std::string_view head, bool whole_head_sent,
                                           bool idempotent);

  // The node answered (a server error when `server_error`): passive checks learn it.
  void answered(bool server_error) { connector_.succeeded(a_, server_error); }

  routing::NodeLease& lease() { return a_.lease; }
  std::unique_ptr<upstream::Connection>& conn() { return a_.conn; }

 private:
  void dialing(upstream::Stream* stream, Millis timeout) override;
  bool dial_expired() override;
  // A new connection: the session follows it (expire(), the node for its counters and log).
  void follow();

  Owner owner_;
  const routing::RouteSettings& route_;
  upstream::SocketTransport transport_;
  upstream::Connector<upstream::SocketTransport> connector_;
  upstream::Attempt<upstream::Connection> a_;
};

}  // namespace proxy::http
