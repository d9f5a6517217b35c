// Settings owned by the routing module: what a pool, a node and a route are, independent of
// the file format they were read from (proxy/config/ fills them).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "routing/access_rule.h"

namespace routing {

using Millis = std::chrono::milliseconds;

enum class Balance : uint8_t { LeastLoaded, RoundRobin };

// Session affinity of a pool: HTTP routes (routing/affinity.h), or one node per mail user
// (routing/user_affinity.h; the default of pools used by IMAP listeners).
enum class Affinity : uint8_t { None, Cookie, Source, User };
// How a mail pool with user affinity compares user names: the whole name or the part before
// the last '@', lower-cased (routing/user_affinity.h).
enum class UserKey : uint8_t { Whole, LocalPart };

// The PROXY protocol header sent at the start of each connection to a node (TCP listeners).
enum class ProxyProtocol : uint8_t { Off, V1, V2 };

// Mail pools: TLS towards the nodes. None: the dialogue stays in clear; StartTls: STARTTLS
// (IMAP), STLS (POP3) or STARTTLS (SMTP) after every node's greeting, a node that refuses it or
// fails the handshake cannot take the login; Auto: STARTTLS when the node offers it, in clear
// otherwise.
enum class NodeTls : uint8_t { None, StartTls, Auto };

struct NodeSettings {
  std::string name;     // defaults to the address
  std::string address;  // "ip:port" or "[v6]:port", validated by the loader
  uint32_t weight = 1;
  // The address resolved once by the loader: connects use these, never the text. port 0:
  // not resolved (the node cannot be connected to).
  boost::asio::ip::address ip;
  uint16_t port = 0;
  // The value of the affinity cookie that names this node (affinity = "cookie"): the node's
  // `cookie` key, else derived by the loader from the pool's and the node's names (never the
  // address), the same in every process that reads the same config.
  std::string cookie;
  std::string tls_name;  // the server name for TLS to the node: the address without its port

  bool resolved() const { return port != 0; }
};

// How a pool's nodes are checked and judged: rise/fall counts, probe intervals, slow start,
// drain timeout and passive checks. The pure functions of health_policy.h and node_state.h
// apply it; CheckSettings below says what a probe sends and expects.
struct HealthPolicy {
  uint32_t rise = 2;  // consecutive successes for a down node to go up
  uint32_t fall = 3;  // consecutive failures for an up node to go down
  Millis interval = Millis(2'000);
  Millis fast_interval = Millis(0);  // while changing state (HAProxy's fastinter); 0 = interval
  Millis down_interval = Millis(0);  // while down and not rising (downinter); 0 = interval
  uint32_t jitter_percent = 10;      // each delay is drawn within +/- this share, 50 at most
  Millis slow_start = Millis(0);     // weight ramp after coming back up; 0 = full weight at once
  Millis drain_timeout = Millis(0);  // draining or in maintenance: in-flight work is cut after
                                     // this long; 0 = never cut, let it finish
  // Passive checks on live traffic: this many failures in a row mark the node down at once
  // (active checks bring it back). 0 = off. Failures are connect failures, and 5xx answers
  // when passive_5xx is set.
  uint32_t passive_failures = 0;
  bool passive_5xx = false;

  bool operator==(const HealthPolicy&) const = default;
};

enum class CheckType : uint8_t { None, Http, Tcp, Tls, Imap, Pop3, Smtp };

// An active health check: where the probe goes, what it sends and what it expects. One probe
// is one connection; `timeout` bounds all of it (connect, TLS handshake, dialogue).
struct CheckSettings {
  CheckType type = CheckType::None;  // None: no active checks, the nodes stay up
  // Where to probe: the node's own address, with `port` instead of its port when not 0, or
  // `address` ("ip:port") for every node of the pool when not empty.
  uint16_t port = 0;
  std::string address;
  boost::asio::ip::address address_ip;  // `address` resolved by the loader
  uint16_t address_port = 0;            // 0: no `address`
  Millis timeout = Millis(1'000);
  // http: the request, and the answer that counts as healthy.
  std::string method = "GET";
  std::string path = "/";
  std::string host;  // Host header (and TLS server name); empty = the probed address
  uint16_t status_min = 200;
  uint16_t status_max = 399;
  std::string expect_body;  // searched in the first 64 KiB of the body; empty = body not read
  // tls: verify the node's certificate against this CA file (and `host`, when given, as its
  // name); empty = no verification: the check is that a handshake completes. The other types
  // speak TLS when the pool re-encrypts (tls = true), as the traffic does.
  std::string ca;

  bool operator==(const CheckSettings&) const = default;
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
  // Health: active checks (none unless check.type is set), slow start, drain, passive checks.
  CheckSettings check;
  HealthPolicy health;
  // TCP listeners (and mail health checks) send this header first; HTTP routes ignore it.
  ProxyProtocol proxy_protocol = ProxyProtocol::Off;
  // HTTP routes: which node a client's requests keep going to (routing/affinity.h).
  Affinity affinity = Affinity::None;
  std::string affinity_cookie = "PASSEUR_NODE";  // the cookie's name (affinity = "cookie")
  // affinity = "user": a node's load may reach balance_factor x the pool's average before a
  // user without open sessions goes past it in their order; user names compared by user_key.
  double balance_factor = 1.25;
  UserKey user_key = UserKey::Whole;
  // IMAP listeners: tell the node the client's address in an ID command before the login
  // (x-originating-ip; Dovecot takes it from its login_trusted_networks).
  bool mail_id = false;
  // SMTP listeners: tell the node the client's address with Postfix's XCLIENT before the login
  // (the node must list Passeur in smtpd_authorized_xclient_hosts); a node that does not offer
  // it is not used.
  bool xclient = false;
  // Mail listeners: TLS towards the nodes after their greeting; the node's certificate checked
  // (node_verify) against node_ca_file (empty: the system store) and node_server_name (empty:
  // the node's address), which is also the SNI sent.
  NodeTls node_tls = NodeTls::None;
  bool node_verify = true;
  std::string node_ca_file;
  std::string node_server_name;
};

// Timeouts a route applies to the backend side of a request.
struct UpstreamTimeouts {
  Millis connect = Millis(3'000);
  Millis response = Millis(60'000);   // from request sent to response header, and between reads
  Millis tunnel = Millis(3'600'000);  // idle time of an upgraded (WebSocket) tunnel
  Millis expect = Millis(1'000);      // wait for a node's 100 Continue before the body goes anyway
};

struct RouteSettings {
  std::optional<std::string> host;  // exact or "*.suffix"; nullopt = any host
  std::string path_prefix = "/";
  std::string pool;
  uint64_t max_body = 64ull << 20;  // 0 = unlimited
  UpstreamTimeouts timeouts;
  AccessRule access;  // countries and sources refused with 403
};

}  // namespace routing
