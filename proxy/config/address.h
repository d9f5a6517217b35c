// Socket addresses as written in the configuration file.
#pragma once

#include <optional>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "routing/settings.h"

namespace proxy::config {

// "1.2.3.4:80" or "[::1]:8080": an IP literal (IPv6 in brackets) and a port in 1-65535.
// Host names are not accepted. nullopt on anything else.
std::optional<boost::asio::ip::tcp::endpoint> parse_endpoint(std::string_view text);

// Fills the node's resolved address (ip, port, TLS name) from its address text, once, when the
// config is read: connects never parse text. False (and left unresolved) when it does not parse.
bool resolve_node(routing::NodeSettings& node);
// The same for a check's own `address`, when it has one.
bool resolve_check(routing::CheckSettings& check);

}  // namespace proxy::config
