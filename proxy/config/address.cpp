#include "proxy/config/address.h"

#include <charconv>
#include <string>

namespace proxy::config {
namespace {

std::optional<unsigned short> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value < 1 || value > 65535) return std::nullopt;
  return static_cast<unsigned short>(value);
}

}  // namespace

std::optional<boost::asio::ip::tcp::endpoint> parse_endpoint(std::string_view text) {
  namespace ip = boost::asio::ip;
  boost::system::error_code ec;
  ip::address address;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    address = ip::make_address_v6(std::string(text.substr(1, close - 1)), ec);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    address = ip::make_address_v4(std::string(text.substr(0, colon)), ec);
    port_text = text.substr(colon + 1);
  }
  if (ec) return std::nullopt;
  auto port = parse_port(port_text);
  if (!port) return std::nullopt;
  return ip::tcp::endpoint(address, *port);
}

bool resolve_node(routing::NodeSettings& node) {
  auto ep = parse_endpoint(node.address);
  if (!ep) return false;
  node.ip = ep->address();
  node.port = ep->port();
  node.tls_name = node.ip.to_string();
  return true;
}

bool resolve_check(routing::CheckSettings& check) {
  if (check.address.empty()) return true;
  auto ep = parse_endpoint(check.address);
  if (!ep) return false;
  check.address_ip = ep->address();
  check.address_port = ep->port();
  return true;
}

}  // namespace proxy::config
