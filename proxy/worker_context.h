// What a worker's connections see of it: the io_context they run on, the config snapshot of the
// next request, this worker's counters, buffers and recyclers, log buffer, connection list,
// random source, idle upstream connections, whether it is stopping, the clock, and the
// process's login shield. One per worker, written and read on the worker's thread only (the
// counters are also read by /metrics). The worker owns it and changes what sessions may only
// read (the snapshot, the GeoIP database, the stopping flag, the login shield's address).
#pragma once

#include <cstddef>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include "proxy/access_log.h"
#include "proxy/connection_registry.h"
#include "proxy/deadline_wheel.h"
#include "proxy/http/body_buffer.h"
#include "proxy/http/message_head.h"
#include "proxy/http/recycler.h"
#include "proxy/listener_traffic.h"
#include "proxy/snapshot.h"
#include "proxy/upstream/idle_pool.h"
#include "routing/access_rule.h"
#include "routing/country.h"
#include "routing/geo_database.h"
#include "routing/login_shield.h"
#include "routing/random.h"
#include "routing/user_affinity.h"

namespace proxy {

class Worker;

class WorkerContext {
 public:
  WorkerContext(unsigned index, std::shared_ptr<const Snapshot> snapshot, AccessLog* log);
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;

  boost::asio::io_context& io() { return io_; }
  // The config the next request uses (a session keeps the one it started with).
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  routing::Random& random() { return random_; }
  upstream::IdlePool& upstreams() { return upstreams_; }
  http::BufferPool& buffers() { return buffers_; }
  http::Recycler<http::RequestHead>& request_heads() { return request_heads_; }
  http::Recycler<http::ResponseHead>& response_heads() { return response_heads_; }
  LogBuffer& log() { return log_; }
  ConnectionList& connections() { return connections_; }
  // A new connection: listed for a stop and a drain, its deadline watched by the worker's tick.
  void track(TrackedConnection& c) {
    connections_.push_back(c);
    c.track_in(wheel_);
  }
  bool stopping() const { return stopping_; }
  Clock::time_point now() const { return Clock::now(); }
  // This worker's slot in the nodes' per-worker counters (routing::Node::traffic).
  unsigned index() const { return index_; }
  // This worker's counters of listener `i` (written by this worker, read by /metrics).
  ListenerTraffic& listener_traffic(size_t i) { return listener_traffic_[i]; }
  const ListenerTraffic& listener_traffic(size_t i) const { return listener_traffic_[i]; }
  size_t listener_count() const { return listener_count_; }
  // A new connection on listener `i` from `client` (the PROXY header's source when one was
  // taken): its country is looked up (unknown without a database) and counted, and the
  // listener's access rule decides. A refusal is counted too; the caller closes.
  routing::Refusal admit(size_t i, const boost::asio::ip::address& client,
                         routing::Country& country);
  bool has_geo() const { return geo_ != nullptr; }
  // The process's table of mail users' open sessions (owned by the Server, shared by every
  // worker, kept across reloads); null until the Server sets it.
  routing::UserAffinity* user_affinity() const { return user_affinity_; }
  void set_user_affinity(routing::UserAffinity* table) { user_affinity_ = table; }
  // The process's brute-force shield of mail logins, shared by every worker and listener
  // (thread-safe); null only in contexts built without a server.
  routing::LoginShield* login_shield() const { return login_shield_; }

 private:
  friend class Worker;
  // The worker's listeners, once bound: one set of counters each.
  void count_listeners(size_t n);
  void set_login_shield(routing::LoginShield* shield) { login_shield_ = shield; }

  unsigned index_;
  // What sessions touch comes first: it must outlive the io_context, whose destruction
  // destroys the coroutine frames of connections still open.
  std::shared_ptr<const Snapshot> snapshot_;
  std::shared_ptr<const routing::GeoDatabase> geo_;
  routing::UserAffinity* user_affinity_ = nullptr;
  routing::LoginShield* login_shield_ = nullptr;  // the server's; outlives the workers
  routing::FastRandom random_;
  http::BufferPool buffers_;
  http::Recycler<http::RequestHead> request_heads_;
  http::Recycler<http::ResponseHead> response_heads_;
  LogBuffer log_;
  ConnectionList connections_;
  DeadlineWheel wheel_{Clock::now()};
  std::unique_ptr<ListenerTraffic[]> listener_traffic_;  // sessions count into it as they end
  size_t listener_count_ = 0;
  boost::asio::io_context io_{1};
  upstream::IdlePool upstreams_;
  bool stopping_ = false;
};

}  // namespace proxy
