// Settings owned by the routing module: what a pool, a node and a route are, independent of
// the file format they were read from (proxy/config/ fills them).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace routing {

using Millis = std::chrono::milliseconds;

enum class Balance : uint8_t { LeastLoaded, RoundRobin };

struct NodeSettings {
  std::string name;     // defaults to the address
  std::string address;  // "ip:port" or "[v6]:port", validated by the loader
  uint32_t weight = 1;
};

struct PoolSettings {
  std::string name;
  Balance balance = Balance::LeastLoaded;
  std::vector<NodeSettings> nodes;
  uint32_t max_idle = 32;                // idle keep-alive connections kept per node and worker
  Millis idle_timeout = Millis(30'000);  // an idle upstream connection older than this is closed
  // Re-encryption to the backends.
  bool tls = false;
  bool tls_verify = true;  // check the backend's certificate and name
  std::string tls_ca;      // CA file; empty = the system store
};

// Timeouts a route applies to the backend side of a request.
struct UpstreamTimeouts {
  Millis connect = Millis(3'000);
  Millis response = Millis(60'000);   // from request sent to response header, and between reads
  Millis tunnel = Millis(3'600'000);  // idle time of an upgraded (WebSocket) tunnel
};

struct RouteSettings {
  std::optional<std::string> host;  // exact or "*.suffix"; nullopt = any host
  std::string path_prefix = "/";
  std::string pool;
  uint64_t max_body = 64ull << 20;  // 0 = unlimited
  UpstreamTimeouts timeouts;
};

}  // namespace routing
