// The process: builds the config snapshot, binds listeners in every worker, runs the workers,
// and handles signals (SIGTERM/SIGINT: graceful stop; SIGHUP: reload).
#pragma once

#include <memory>
#include <vector>

#include "proxy/access_log.h"
#include "proxy/config/settings.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"
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
  // Re-reads the config file; on success swaps the new snapshot into every worker.
  // Returns false (and logs why) when the new file is rejected: the old config stays.
  bool reload();

 private:
  // Loads every [[certificate]] and hands the store to each TLS listener. At start a broken
  // file is fatal (throws); on reload it is logged and the certificates in use stay.
  bool load_certificates(const Config& config, bool at_start);

  std::shared_ptr<const Snapshot> snapshot_;
  std::shared_ptr<const tls::CertStore> certs_;
  std::vector<std::unique_ptr<tls::ServerTls>> listener_tls_;  // per listener; null if plain
  std::unique_ptr<AccessLog> access_log_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace proxy
