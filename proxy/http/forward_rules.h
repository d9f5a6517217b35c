// Where the header rules meet a request: the rules of its listener, then those of its route,
// applied to the head Passeur wrote for the node or for the client. A request that named no
// Host (HTTP/1.0) gets one here too, before the rules.
#pragma once

#include <string>
#include <string_view>

#include "proxy/http/message_head.h"
#include "proxy/snapshot.h"

namespace proxy::http {

struct RuleSite {
  const Snapshot& snapshot;
  const ListenerSettings& listener;
  const routing::RouteSettings& route;  // one of snapshot's routes
  const RequestHead& req;               // its host: the Host, or an absolute target's authority
  std::string_view client_ip;
};

// The request head for the node (`head`, as build_request_head wrote it).
void apply_request_rules(const RuleSite& site, std::string& head);

// The final response head for the client (`head`, as build_response_head wrote it).
void apply_response_rules(const RuleSite& site, std::string& head);

// The Host sent for a request that named none: the route's host when it names one exactly,
// else the address of the first node of the route's pool.
std::string_view default_host(const Snapshot& snapshot, const routing::RouteSettings& route);

}  // namespace proxy::http
