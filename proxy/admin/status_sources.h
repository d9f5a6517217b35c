// What the status page shows besides pools and nodes, gathered by the server on the control
// thread for each request: listeners and their counters, certificates, the last reload.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/admin/traffic_history.h"
#include "routing/user_affinity.h"

namespace proxy::admin {

struct ListenerStatus {
  std::string name;
  std::string listen;
  std::string kind;         // "http", "https", "tcp", "tcp+tls", "imap", "imap+tls", ...
  int64_t connections = 0;  // open now
  uint64_t accepted = 0;    // since the start
  TrafficCounts counts;     // requests answered (latency unused)
};

struct CertificateStatus {
  std::string path;
  std::vector<std::string> names;
  int64_t not_after = 0;  // unix seconds
};

struct ReloadStatus {
  uint64_t successes = 0;
  uint64_t failures = 0;
  bool last_ok = true;
  int64_t last_unix = 0;     // the last reload, or the start when none
  std::string last_message;  // "started", "reloaded FILE", or why it was rejected
};

struct StatusSources {
  std::vector<ListenerStatus> listeners;
  std::vector<CertificateStatus> certificates;
  ReloadStatus reload;
  const routing::UserAffinity* users = nullptr;  // mail users' open sessions
};

}  // namespace proxy::admin
