// What a front lends the connector's dials: its deadline, and a way to tell that the deadline
// (not a shutdown, not the node) cut a dial. Sessions keep one deadline field swept by their
// worker (connection_registry.h); while a dial runs, the session's expire() cancels `conn`.
#pragma once

#include <chrono>

namespace proxy::upstream {

class Stream;

class DialWatch {
 public:
  // A dial on `stream` starts and must end within `timeout`; null when it ended.
  virtual void dialing(Stream* stream, std::chrono::milliseconds timeout) = 0;
  // Did the deadline cut the dial that just ended? Clears the mark, the work goes on.
  virtual bool dial_expired() = 0;
  // The front is stopping (its worker shuts down, a drain cut it): no further node is tried.
  virtual bool dial_stopped() const { return false; }

 protected:
  ~DialWatch() = default;
};

}  // namespace proxy::upstream
