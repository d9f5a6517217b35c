// Active health checks: one coroutine per checked node, on its own timer with jitter, feeding
// the node's rise/fall counter and changing its state through routing/node_state.h. Every
// state change is logged.
//
// A node of a pool with a check is probed from the start, on probation: up, but taken out at
// its first failed probe (HAProxy's "start OK, check at once"); after that, `fall` failures in a
// row take it down and `rise` successes bring it back (through a slow start when the pool has
// one). A node in maintenance is not probed; when it leaves maintenance it is probed within a
// second, on probation again. Nodes of pools without a check are left as they are (up).
//
// Runs on the io_context it is given, never on a worker: probes are a few connections a second,
// and a worker's latency is not theirs to spend.
#pragma once

#include <map>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "proxy/snapshot.h"

namespace proxy::health {

class HealthChecker {
 public:
  explicit HealthChecker(boost::asio::io_context& ctx);
  // On ctx's thread, or once ctx no longer runs; before ctx is destroyed.
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Checks the nodes of `snap` from now on: starts a loop for every node of every pool with a
  // check; a node that the previous snapshot had checked keeps its loop and its counter (with
  // the new settings); the loops of nodes no longer checked end, and such a node that is still
  // in `snap` (its pool lost its check) is made up again. From any thread: the work is posted
  // to the checker's io_context.
  void update(std::shared_ptr<const Snapshot> snap);

  // Ends every loop (probes in flight are cancelled) and ignores later updates. From any
  // thread; once the posted work has run, the checker leaves no work on its io_context.
  void stop();

  struct Target;  // one checked node: its settings, counter, timer (health_checker.cpp)

 private:
  void apply(const std::shared_ptr<const Snapshot>& snap);
  void stop_all();

  boost::asio::io_context& ctx_;
  // Used on ctx_'s thread only (everything is posted there).
  std::map<const routing::Node*, std::shared_ptr<Target>> targets_;
  uint64_t seed_;
  bool stopped_ = false;
};

}  // namespace proxy::health
