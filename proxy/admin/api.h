// The admin API as pure functions: a parsed request in, a response out. No sockets here
// (admin_server.h moves the bytes), so routing, authentication and the JSON are unit-tested.
//
//   GET  /healthz                                   200 "ok" (no token: for keepalived/monitoring)
//   GET  /api/v1/pools                              every pool and node, with their state
//   GET  /api/v1/pools/{pool}                       one pool
//   GET  /api/v1/pools/{pool}/nodes/{node}          one node
//   POST /api/v1/pools/{pool}/nodes/{node}/drain    admin state Draining: no new work
//   POST /api/v1/pools/{pool}/nodes/{node}/maintenance   Maintenance: no new work, no checks
//   POST /api/v1/pools/{pool}/nodes/{node}/ready    back to Active
//   POST /api/v1/reload                             re-read the config file (as SIGHUP does)
//   GET  /api/v1/shield[?limit=N]                   the login shield's entries, most failures
//                                                   first (100 unless limit says)
//   POST /api/v1/shield/{dimension}/{key}/clear     forget one entry (dimension: address,
//                                                   network, user or country)
//   POST /api/v1/shield/clear                       forget every entry
//   GET  /metrics                                   Prometheus text format (metrics/exposition.h)
//   GET  /  and /status...  /login  /logout         the status page (status_page.h)
//
// Pool and node names are path segments, percent-decoded ("10.0.0.11%3A8081" or
// "10.0.0.11:8081"). When a token is set, every path but /healthz needs
// "Authorization: Bearer <token>" (401 otherwise). Errors are JSON: {"error": "no pool \"x\""}.
// A POST that a browser marks as coming from another site (Origin, Sec-Fetch-Site) is refused
// with 403: a page elsewhere cannot drain nodes through the operator's browser.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "proxy/admin/status_history.h"
#include "proxy/admin/status_sessions.h"
#include "proxy/admin/status_sources.h"
#include "proxy/snapshot.h"
#include "routing/health_clock.h"
#include "routing/login_shield.h"
#include "routing/node.h"
#include "routing/user_affinity.h"

namespace proxy::admin {

struct Request {
  std::string_view method;
  std::string_view target;         // origin-form, as received (may carry a query)
  std::string_view authorization;  // the Authorization header, empty if none
  std::string_view peer;           // client IP, for the cause of changes and the log
  // For the status page (browsers): header fields and the body.
  std::string_view cookie;
  std::string_view origin;
  std::string_view sec_fetch_site;
  std::string_view host;
  std::string_view accept;
  std::string_view forwarded_proto;  // X-Forwarded-Proto: "https" makes the cookie Secure
  std::string_view body;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra header fields
  bool close = false;  // close the connection after this response
};

struct Context {
  std::shared_ptr<const Snapshot> snapshot;  // the running config; null: 503
  // Re-reads the config: true and a message, or false and the errors (one per line).
  // Empty: the API answers 503.
  std::function<bool(std::string& message)> reload;
  std::string_view token;  // empty: no token asked for
  routing::Clock::time_point now;
  // The /metrics exposition; empty: 404.
  std::function<std::string()> metrics;
  // One line for the operational log per change made (state changes, reloads, refused tokens).
  std::function<void(std::string_view)> log;
  // The status page: logins, history and live numbers. Null sessions: no page (404).
  StatusSessions* sessions = nullptr;
  const StatusHistory* history = nullptr;
  std::function<StatusSources()> status;
  int64_t now_unix = 0;
  // Mail users' open sessions (GET /api/v1/users/USER); null: 503.
  const routing::UserAffinity* users = nullptr;
  // The process's login shield; null: its paths answer 503.
  routing::LoginShield* login_shield = nullptr;
};

Response handle(const Request& request, const Context& context);

// The JSON of one node / one pool, as the API shows them (`now` for the "seconds ago" fields).
// With `users`, a node of a pool with user affinity also tells the mail users and sessions open
// on its machine through this process (what a drain waits for).
boost::json::object node_json(const routing::Node& node, routing::Clock::time_point now,
                              const routing::UserAffinity* users = nullptr);
boost::json::object pool_json(const routing::Pool& pool, routing::Clock::time_point now,
                              const routing::UserAffinity* users = nullptr);

// The bytes of a response. `head_only` for HEAD (Content-Length kept, no body); `close` adds
// "Connection: close".
std::string serialize(const Response& response, bool head_only, bool close);

// A JSON error response: {"error": message}, closing the connection.
Response error_response(unsigned status, std::string_view message);

// Percent-decoding of one path segment; nullopt on a malformed escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view segment);

}  // namespace proxy::admin
