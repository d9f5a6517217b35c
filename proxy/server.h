// The process: builds the config snapshot, binds listeners in every worker, runs the workers,
// and runs the control thread: signals (SIGTERM/SIGINT: graceful stop; SIGHUP: reload), the
// admin API and the health checks, all off the request path.
#pragma once

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "proxy/access_log.h"
#include "proxy/admin/admin_server.h"
#include "proxy/config/settings.h"
#include "proxy/geo_watcher.h"
#include "proxy/health/health_checker.h"
#include "proxy/metrics/exposition.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"
#include "routing/health_clock.h"
#include "routing/login_shield.h"
#include "routing/user_affinity.h"
#include "tls/cert_store.h"
#include "tls/server_tls.h"

namespace proxy {

class Server {
 public:
  // Throws std::runtime_error with a clear message when a listener cannot be bound.
  explicit Server(Config config);
  ~Server();
  // Runs until stopped by a signal. Returns the process exit code.
  int run();
  // Re-reads the config file; on success swaps the new snapshot into every worker and the
  // health checker. Returns false (and logs why, also into `message` if given) when the new
  // file is rejected: the old config stays.
  // The service manager hears RELOADING=1 before and READY=1 after, either way.
  bool reload(std::string* message = nullptr);

 private:
  bool apply_reload(std::string* message);
  std::string render_metrics() const;
  // The status page's listeners, certificates and last reload.
  admin::StatusSources status_sources() const;
  // Loads every [[certificate]] and hands the store to each TLS listener. At start a broken
  // file is fatal (throws); on reload it is logged and the certificates in use stay.
  bool load_certificates(const Config& config, bool at_start);

  boost::asio::io_context control_{1};  // signals, admin API, health checks
  // Taken before anything is bound: a SIGHUP or SIGTERM that arrives once the ports accept
  // but before run() waits for signals is queued and handled, never fatal.
  boost::asio::signal_set signals_{control_, SIGINT, SIGTERM, SIGHUP};
  std::shared_ptr<const Snapshot> snapshot_;
  std::shared_ptr<const tls::CertStore> certs_;
  std::vector<std::unique_ptr<tls::ServerTls>> listener_tls_;  // per listener; null if plain
  std::unique_ptr<AccessLog> access_log_;
  // Mail users' open sessions, for every worker and across reloads: it outlives the workers,
  // whose sessions hold leases on it.
  routing::UserAffinity user_affinity_;
  // [login_shield]: one for the process, shared by every worker and mail listener; its entries
  // survive reloads. Declared before the workers: it outlives them.
  routing::SteadyClock shield_clock_;
  std::unique_ptr<routing::LoginShield> login_shield_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<health::HealthChecker> checker_;
  std::unique_ptr<GeoWatcher> geo_;  // [geoip]: the database the workers look countries up in
  std::unique_ptr<admin::AdminServer> admin_;
  metrics::ReloadStats reloads_;
  int64_t last_reload_unix_ = 0;     // the start until the first reload
  std::string last_reload_message_;  // for the status page
  int64_t start_unix_ = 0;
};

}  // namespace proxy
