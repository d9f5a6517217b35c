// One worker: one thread running one io_context, with its own acceptors (SO_REUSEPORT), its own
// idle upstream connections, log buffer and random source. Nothing here is shared with other
// workers except the config snapshot (immutable) and node load counters (atomics).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "proxy/access_log.h"
#include "proxy/connection_registry.h"
#include "proxy/http/body_buffer.h"
#include "proxy/http/message_head.h"
#include "proxy/http/recycler.h"
#include "proxy/http/upstream_pool.h"
#include "proxy/listener_traffic.h"
#include "proxy/snapshot.h"
#include "routing/geo_database.h"
#include "routing/random.h"
#include "tls/server_tls.h"

namespace proxy {

struct BoundListener {
  const ListenerSettings* settings;  // of the snapshot the listener was bound with
  std::string name;
  boost::asio::ip::tcp::endpoint endpoint;
  const tls::ServerTls* tls = nullptr;  // set for a TLS listener; outlives the workers
};

class Worker {
 public:
  Worker(unsigned index, std::shared_ptr<const Snapshot> snapshot, AccessLog* log);
  ~Worker();

  // Binds one acceptor per listener (throws with a clear message on failure). Before start().
  void bind(const std::vector<BoundListener>& listeners);
  void start();
  // From any thread: the next requests use this snapshot.
  void swap_snapshot(std::shared_ptr<const Snapshot> snapshot);
  // From any thread: new connections look their country up in this database (null: none).
  void swap_geo(std::shared_ptr<const routing::GeoDatabase> geo);
  // From any thread: stop accepting, finish in-flight work, force-close after `grace`.
  void stop(std::chrono::milliseconds grace);
  void join();

  // Worker-thread accessors used by sessions.
  boost::asio::io_context& context() { return ctx_; }
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  routing::Random& random() { return random_; }
  http::UpstreamPool& upstreams() { return upstreams_; }
  http::BufferPool& buffers() { return buffers_; }
  http::Recycler<http::RequestHead>& request_heads() { return request_heads_; }
  http::Recycler<http::ResponseHead>& response_heads() { return response_heads_; }
  LogBuffer& log() { return log_; }
  ConnectionList& connections() { return connections_; }
  bool stopping() const { return stopping_; }
  Clock::time_point now() const { return Clock::now(); }
  unsigned index() const { return index_; }
  // This worker's counters of listener `i` (written by this worker, read by /metrics).
  ListenerTraffic& listener_traffic(size_t i) { return listener_traffic_[i]; }
  const ListenerTraffic& listener_traffic(size_t i) const { return listener_traffic_[i]; }
  size_t listener_count() const { return listener_names_.size(); }
  // A new connection on listener `i` from `client` (the PROXY header's source when one was
  // taken): its country is looked up (unknown without a database) and counted, and the
  // listener's access rule decides. A refusal is counted too; the caller closes.
  routing::Refusal admit(size_t i, const boost::asio::ip::address& client,
                         routing::Country& country);
  bool has_geo() const { return geo_ != nullptr; }

 private:
  void accept_loop(size_t listener_index);
  void tick();
  void finish_if_drained();

  unsigned index_;
  // What sessions touch comes first: it must outlive the io_context, whose destruction
  // destroys the coroutine frames of connections still open.
  std::shared_ptr<const Snapshot> snapshot_;
  std::shared_ptr<const routing::GeoDatabase> geo_;
  routing::FastRandom random_;
  http::BufferPool buffers_;
  http::Recycler<http::RequestHead> request_heads_;
  http::Recycler<http::ResponseHead> response_heads_;
  LogBuffer log_;
  ConnectionList connections_;
  std::unique_ptr<ListenerTraffic[]> listener_traffic_;  // sessions count into it as they end
  boost::asio::io_context ctx_{1};
  http::UpstreamPool upstreams_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::vector<boost::asio::ip::tcp::endpoint> accept_peers_;  // filled by each accept
  std::vector<std::string> listener_names_;
  std::vector<const tls::ServerTls*> listener_tls_;
  std::vector<bool> listener_tcp_;  // protocol = "tcp": a byte relay, not HTTP
  boost::asio::steady_timer tick_timer_{ctx_};
  boost::asio::steady_timer grace_timer_{ctx_};
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace proxy
