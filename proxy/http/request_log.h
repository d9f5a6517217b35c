// The last stage of every request, whatever its outcome: counted (per listener, per node), then
// written to the access log.
#pragma once

#include <cstdint>
#include <string_view>

#include "proxy/http/message_head.h"
#include "proxy/worker_context.h"
#include "routing/country.h"
#include "routing/node_state.h"

namespace proxy::http {

// What one request did, gathered as it goes.
struct RequestRecord {
  Clock::time_point start{};
  Clock::time_point upstream_start{};
  Clock::time_point upstream_end{};
  uint64_t bytes_sent = 0;      // to the client
  uint64_t bytes_received = 0;  // from the client: head and body
  // How the exchange ended, in the TCP lines' words: "keepalive" (the connection waits for the
  // next request), "done" (answered, then closed), "client_fin"/"client_error" (the client
  // closed or failed), "node_fin"/"node_error", "timeout", "early_response", "upgrade", ...
  std::string_view close;
  std::string_view pool_name;
  std::string_view node_name;
  routing::Node* node = nullptr;  // the node answering it (drain_timeout, counters)
};

// The connection a request came on.
struct RequestSource {
  WorkerContext& w;
  size_t listener;  // index in the snapshot's listeners
  std::string_view listener_name;
  std::string_view client;  // address text
  uint16_t client_port;
  routing::Country country;
};

// Counts the request and writes its access line (when the log is on).
void finish_request(const RequestSource& from, const RequestRecord& r, const RequestHead& req,
                    unsigned status);

// A request refused before routing (malformed, too large, timed out): counted on its listener,
// not logged.
void count_rejected(WorkerContext& w, size_t listener, const RequestRecord& r, unsigned status,
                    unsigned version = 11);

// The slot of a request's protocol version in ListenerTraffic::requests_by_version.
inline size_t version_slot(unsigned version) {
  return version == 10 ? 0 : version == 20 ? 2 : 1;
}

}  // namespace proxy::http
