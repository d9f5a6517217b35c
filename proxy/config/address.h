// Socket addresses as written in the configuration file.
#pragma once

#include <optional>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

namespace proxy::config {

// "1.2.3.4:80" or "[::1]:8080": an IP literal (IPv6 in brackets) and a port in 1-65535.
// Host names are not accepted. nullopt on anything else.
std::optional<boost::asio::ip::tcp::endpoint> parse_endpoint(std::string_view text);

}  // namespace proxy::config
