// What one worker counted on one listener (see routing/local_counters.h: one writer, summed
// over workers at scrape time).
#pragma once

#include <array>

#include "routing/access_rule.h"
#include "routing/country.h"
#include "routing/local_counters.h"
#include "routing/node_traffic.h"
#include "tls/handshake_result.h"

namespace proxy {

struct alignas(64) ListenerTraffic {
  routing::LocalCounter accepted;
  routing::LocalGauge active;
  std::array<routing::LocalCounter, 5> requests;                       // by status class
  std::array<routing::LocalCounter, 3> requests_by_version;            // HTTP/1.0, HTTP/1.1, HTTP/2
  routing::LocalGauge h2_connections;                                  // HTTP/2 connections open
  routing::LocalGauge h2_streams;                                      // HTTP/2 streams open
  routing::LocalCounter received_bytes;                                // from clients
  routing::LocalCounter sent_bytes;                                    // to clients
  std::array<routing::LocalCounter, tls::kTlsVersions> handshakes_ok;  // by version
  std::array<routing::LocalCounter, tls::kHandshakeResults> handshakes_failed;  // by result
  routing::SessionHistogram session_time;  // TCP sessions: from accept to close
  // With a [geoip] database: connections by the client's country (index 0: unknown).
  std::array<routing::LocalCounter, routing::kCountrySlots> countries;
  std::array<routing::LocalCounter, routing::kRefusals> refused;  // by routing::Refusal
  // Mail listeners: logins by result (routing::MailLogin), and those the login shield refused
  // before any node (the last slot).
  std::array<routing::LocalCounter, routing::kMailLoginResults + 1> mail_logins;
};

}  // namespace proxy
