// What one worker counted on one listener (see routing/local_counters.h: one writer, summed
// over workers at scrape time).
#pragma once

#include <array>

#include "routing/local_counters.h"
#include "tls/handshake_result.h"

namespace proxy {

struct alignas(64) ListenerTraffic {
  routing::LocalCounter accepted;
  routing::LocalGauge active;
  std::array<routing::LocalCounter, 5> requests;                                // by status class
  routing::LocalCounter received_bytes;                                         // from clients
  routing::LocalCounter sent_bytes;                                             // to clients
  std::array<routing::LocalCounter, tls::kTlsVersions> handshakes_ok;           // by version
  std::array<routing::LocalCounter, tls::kHandshakeResults> handshakes_failed;  // by result
};

}  // namespace proxy
