// The keys of a [[listener]] with protocol = "tcp" (`pool`, `idle_timeout`, `connect_timeout`,
// `accept_proxy`), the HTTP-only keys it refuses, and a pool's `proxy_protocol`.
#pragma once

#include <set>
#include <string>

#include "proxy/config/section.h"
#include "proxy/config/settings.h"

namespace proxy::config::detail {

// Keys a listener of either protocol may hold, beyond name, listen and protocol.
inline constexpr std::string_view kTcpListenerKeys[] = {"pool", "idle_timeout", "connect_timeout",
                                                        "accept_proxy"};

// Reads the TCP keys of a listener, or reports them on an HTTP listener; reports the HTTP keys
// on a TCP listener. `pools`: the names of the pools defined in the file.
void read_listener_protocol_keys(const Section& s, Errors& errors,
                                 const std::set<std::string, std::less<>>& pools,
                                 ListenerSettings& out);

// The keys of a mail listener: `login_timeout`, `allow_plaintext_auth` (refused on other
// listeners). `certificates`: the file has a [[certificate]] (for STARTTLS).
void read_mail_listener_keys(const Section& s, bool certificates, ListenerSettings& out);

// A pool's `proxy_protocol = "v1" | "v2" | "off"`.
void read_pool_proxy_protocol(const Section& s, routing::PoolSettings& out);

}  // namespace proxy::config::detail
