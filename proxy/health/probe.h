// One active health probe of one node: a connection, the dialogue its check type asks for
// (HTTP request, mail greeting, TLS handshake, or just the connect), and a verdict.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "routing/node.h"
#include "routing/settings.h"
#include "tls/client_tls.h"

namespace proxy::health {

struct ProbeResult {
  bool ok = false;
  // What the probe saw, for logs: "HTTP 200", "HTTP 503", "connection refused",
  // "timeout while connecting", "no * OK greeting: ...".
  std::string detail;
};

// Where a check of `check` probes `node`: check.address, or the node's address with check.port
// instead of its own when set. nullopt when the address does not parse (the loader prevents it).
std::optional<boost::asio::ip::tcp::endpoint> probe_endpoint(const routing::CheckSettings& check,
                                                             const routing::Node& node);

// Runs one probe on the calling coroutine's executor. `timeout` bounds the whole probe: connect,
// TLS handshake and every read and write; past it the probe fails with a "timeout ..." detail.
// `tls`: the client context to speak TLS with (required by check type tls; for the other types,
// the pool's re-encryption context, or null for plain TCP). Never throws for network errors;
// a cancellation of the calling coroutine ends it early (with ok = false).
// `proxy`: the pool's proxy_protocol; when set, every check but `tcp` starts with that PROXY
// header (the probe's own addresses), as the traffic does: servers listening for PROXY
// connections (Dovecot haproxy=yes, Postfix smtpd_upstream_proxy_protocol) refuse others.
boost::asio::awaitable<ProbeResult> run_probe(
    const routing::CheckSettings& check, const routing::Node& node,
    std::chrono::milliseconds timeout, const tls::ClientTls* tls = nullptr,
    routing::ProxyProtocol proxy = routing::ProxyProtocol::Off);

}  // namespace proxy::health
