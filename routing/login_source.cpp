#include "routing/login_source.h"

#include <array>

namespace routing {

namespace ip = boost::asio::ip;

ip::address unmapped(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

Cidr shield_network(const ip::address& address) {
  const ip::address a = unmapped(address);
  if (a.is_v4()) {
    auto bytes = a.to_v4().to_bytes();
    bytes[3] = 0;
    return Cidr{ip::address_v4(bytes), 24};
  }
  auto bytes = a.to_v6().to_bytes();
  for (size_t i = 8; i < bytes.size(); ++i) bytes[i] = 0;
  return Cidr{ip::address_v6(bytes), 64};
}

std::optional<ip::address> counted_client(const ip::address& connecting,
                                          const std::optional<ip::address>& announced,
                                          std::span<const Cidr> trusted) {
  bool is_trusted = false;
  for (const Cidr& c : trusted) {
    if (c.contains(connecting)) {
      is_trusted = true;
      break;
    }
  }
  if (!is_trusted) return unmapped(connecting);
  if (!announced) return std::nullopt;
  return unmapped(*announced);
}

std::string shield_address_key(const ip::address& a) {
  return unmapped(a).to_string();
}

std::string shield_network_key(const ip::address& a) {
  Cidr n = shield_network(a);
  return n.network.to_string() + "/" + std::to_string(n.prefix);
}

std::optional<std::string> shield_key(ShieldDimension d, std::string_view text) {
  boost::system::error_code ec;
  switch (d) {
    case ShieldDimension::Address: {
      auto a = ip::make_address(std::string(text), ec);
      if (ec) return std::nullopt;
      return shield_address_key(a);
    }
    case ShieldDimension::Network: {
      auto a = ip::make_address(std::string(text), ec);
      if (!ec) return shield_network_key(a);
      auto c = parse_cidr(text);
      if (!c || shield_network(c->network).prefix != c->prefix) return std::nullopt;
      return shield_network_key(c->network);
    }
    case ShieldDimension::User:
      if (text.empty()) return std::nullopt;
      return shield_user_key(text);
    case ShieldDimension::Country: {
      auto c = Country::from_code(text);
      if (!c) return std::nullopt;
      return std::string(c->code());
    }
  }
  return std::nullopt;
}

std::string_view shield_dimension_name(ShieldDimension d) {
  switch (d) {
    case ShieldDimension::Address:
      return "address";
    case ShieldDimension::Network:
      return "network";
    case ShieldDimension::User:
      return "user";
    case ShieldDimension::Country:
      return "country";
  }
  return "?";
}

std::optional<ShieldDimension> parse_shield_dimension(std::string_view name) {
  for (size_t i = 0; i < kShieldDimensions; ++i) {
    auto d = static_cast<ShieldDimension>(i);
    if (shield_dimension_name(d) == name) return d;
  }
  return std::nullopt;
}

std::string shield_user_key(std::string_view user) {
  std::string out(user.substr(0, kShieldUserMax));
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace routing
