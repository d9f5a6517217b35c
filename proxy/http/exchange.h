// One request on its way to a node, as every front (HTTP/1.1, HTTP/2) hands it to the upstream
// and relay stages, and the head the node gets for it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http/affinity_cookie.h"
#include "proxy/http/message_head.h"
#include "proxy/http/recycler.h"
#include "proxy/http/upstream_attempt.h"
#include "proxy/snapshot.h"
#include "routing/country.h"
#include "routing/pool.h"

namespace proxy::http {

// Upstream response heads may be larger than a client's: cookies set by a cloud suite.
inline constexpr size_t kMaxResponseHead = 64 * 1024;
// First read of a response: its head and, for most pages, scripts and images, the whole body,
// passed on to the client in one write. A 16 KiB read would split a 16 KiB file in two reads and
// two writes. The buffer belongs to the backend connection (at most `max_idle` per node).
inline constexpr size_t kResponseRead = 32 * 1024;

struct Exchange {
  RequestHead& req;
  std::string& head;  // the head for the node: kept for a replay when no body follows
  const ListenerSettings& listener;
  const routing::RouteSettings& route;
  routing::Pool& pool;
  UpstreamAttempt& upstream;  // holds the connection
  uint64_t content_length = 0;
  bool has_body = false;
  bool websocket = false;
  bool idempotent = false;   // may be sent again when its connection failed before any answer
  bool client_keep = false;  // the client's connection may stay open after this request
  bool expect = false;       // Expect: 100-continue goes to the node, the body waits for its 100
  bool te_trailers = false;  // the client takes trailers (TE: trailers)
  CookieChoice cookie;       // affinity = "cookie": what the client's cookie said
  // The worker's object that holds `req`, when the front took it from the recycler: given back
  // before a tunnel (a WebSocket holds no request head for hours).
  Recycler<RequestHead>::Ptr* request_slot = nullptr;
};

// Who sent the request, for the forwarding fields.
struct ForwardFrom {
  const Snapshot& snapshot;
  std::string_view client_ip;
  routing::Country country;
  bool tls = false;  // the client's connection is TLS
};

// Writes the head the node gets into `x.head`: the client's, its target in origin form, with
// the forwarding fields (X-Forwarded-*, Forwarded, Via, the country), without the hop-by-hop
// ones, then the listener's and the route's header rules.
void write_forward_head(const ForwardFrom& from, Exchange& x, std::string_view target);

// The pool's affinity for this request: the node its cookie names (kept in `x.cookie`), or the
// client's address to hash; handed to the upstream attempt before it picks a node.
void choose_affinity(Exchange& x, std::string_view client_ip, routing::Clock::time_point now);

// Once a node is reached: a request routed by its cookie is counted on that node (drain status).
void count_affinity(const Exchange& x, routing::Clock::time_point now);

// The extra header lines of the final response: `base` (the listener's
// Strict-Transport-Security), and the affinity cookie when the pool sets one and the client does
// not hold the right value (`secure`: the client came over TLS). Built in `buf` when needed.
std::string_view response_extra(const Exchange& x, const ResponseHead& res, std::string_view base,
                                bool secure, std::string& buf);

}  // namespace proxy::http
