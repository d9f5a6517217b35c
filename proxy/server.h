// The process: builds the config snapshot, binds listeners in every worker, runs the workers,
// and handles signals (SIGTERM/SIGINT: graceful stop; SIGHUP: reload).
#pragma once

#include <memory>
#include <vector>

#include "proxy/access_log.h"
#include "proxy/config/settings.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"

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
  std::shared_ptr<const Snapshot> snapshot_;
  std::unique_ptr<AccessLog> access_log_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace proxy
