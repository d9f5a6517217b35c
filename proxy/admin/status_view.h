// One moment of the status page: every number it shows, computed once per request from the
// running config, the nodes' counters, the history and the server's sources. The HTML and the
// JSON are both written from it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/admin/status_history.h"
#include "proxy/admin/status_sources.h"
#include "proxy/snapshot.h"

namespace proxy::admin {

struct NodeView {
  std::string name;
  std::string address;
  std::string health;  // up, starting, down
  std::string admin;   // active, draining, maintenance
  uint32_t weight = 0;
  uint32_t in_flight = 0;
  int64_t connections = 0;  // open to the node (for TCP pools: sessions)
  std::string check;        // last check result ("" when never checked)
  std::string check_detail;
  double check_age = -1;  // seconds since the last check; negative: never
  uint64_t requests = 0;  // since the node appeared
  WindowStats minute;
  int64_t mail_users = -1;  // users with open sessions on its machine; -1: no user affinity
};

struct PoolView {
  std::string name;
  std::string balance;
  size_t usable = 0;
  std::vector<NodeView> nodes;
};

struct ListenerView {
  ListenerStatus status;
  WindowStats minute;
};

struct CertificateView {
  CertificateStatus cert;
  int64_t days_left = 0;  // rounded down; negative once expired
};

struct StatusView {
  int64_t now_unix = 0;
  uint64_t seq = 0;    // history samples taken
  std::string layout;  // changes when listeners, pools or nodes do (the page then reloads)
  std::vector<ListenerView> listeners;
  std::vector<PoolView> pools;
  std::vector<CertificateView> certificates;
  ReloadStatus reload;
};

// `history` may be null (no windows then). `now` on the steady clock, `now_unix` the wall clock.
StatusView build_status_view(const Snapshot& snapshot, const StatusSources& sources,
                             const StatusHistory* history, routing::Clock::time_point now,
                             int64_t now_unix);

}  // namespace proxy::admin
