// One worker: one thread running one io_context, with its own acceptors (SO_REUSEPORT), its own
// idle upstream connections, log buffer and random source. Nothing here is shared with other
// workers except the config snapshot (immutable) and node load counters (atomics).
#pragma once

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "proxy/snapshot.h"
#include "proxy/worker_context.h"
#include "routing/geo_database.h"
#include "tls/server_tls.h"

namespace proxy {

struct BoundListener {
  const ListenerSettings* settings;  // of the snapshot the listener was bound with
  std::string name;
  boost::asio::ip::tcp::endpoint endpoint;
  // Set for a TLS listener, and for a plain mail listener's STARTTLS when there are
  // certificates; outlives the workers.
  const tls::ServerTls* tls = nullptr;
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
  // The process's login shield, which must outlive the worker. Before start().
  void set_login_shield(routing::LoginShield* shield) { ctx_.set_login_shield(shield); }
  // From any thread: stop accepting, finish in-flight work, force-close after `grace`.
  void stop(std::chrono::milliseconds grace);
  void join();

  // What this worker's connections see of it.
  WorkerContext& context() { return ctx_; }
  const WorkerContext& context() const { return ctx_; }

 private:
  void accept_loop(size_t listener_index);
  void tick();
  void finish_if_drained();
  // Whether a node of the current config is draining or in maintenance: its work may be cut.
  bool drain_cut_possible() const;

  // First: it holds the io_context, which the members below use, and what sessions touch.
  WorkerContext ctx_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::vector<boost::asio::ip::tcp::endpoint> accept_peers_;  // filled by each accept
  std::vector<std::string> listener_names_;
  std::vector<const tls::ServerTls*> listener_tls_;
  std::vector<bool> listener_mail_;  // protocol = "imap", "pop3", "smtp"
  std::vector<bool> listener_tcp_;   // protocol = "tcp": a byte relay, not HTTP
  boost::asio::steady_timer tick_timer_{ctx_.io()};
  boost::asio::steady_timer grace_timer_{ctx_.io()};
  std::thread thread_;
};

}  // namespace proxy
