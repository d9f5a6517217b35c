// Who tries to log in, as the brute-force shield counts it: the client's address (its /24 or
// /64 network derived from it), the user name and the country. And the one rule deciding which
// address is the client's when a trusted source (a webmail node) announces another one.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "routing/cidr.h"
#include "routing/country.h"
#include "routing/login_shield_settings.h"

namespace routing {

struct LoginSource {
  // The client's address (counted_client() decides it); none: the address and network
  // dimensions are not counted (a trusted source that announced no client address).
  std::optional<boost::asio::ip::address> client;
  // The user name as the client sent it; empty while it is not known.
  std::string_view user;
  // The client's country ([geoip]); unknown: not counted.
  Country country;
};

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address; others unchanged.
boost::asio::ip::address unmapped(const boost::asio::ip::address& a);

// The network the address belongs to for counting: its /24 for IPv4 (and IPv4-mapped IPv6),
// its /64 for IPv6.
Cidr shield_network(const boost::asio::ip::address& a);

// The address whose failures count. `connecting`: the peer of the connection (the PROXY
// header's source when one was taken). `announced`: what the client announced itself as (IMAP
// ID x-originating-ip), if anything. The announced address counts only when `connecting` is in
// `trusted`; a trusted source that announced nothing gives nullopt (it is not one attacker, and
// not the client either). Any other source counts as itself, whatever it announced. Both come
// back unmapped.
std::optional<boost::asio::ip::address> counted_client(
    const boost::asio::ip::address& connecting,
    const std::optional<boost::asio::ip::address>& announced, std::span<const Cidr> trusted);

// The user name as keys compare it: ASCII lower-cased, at most kShieldUserMax bytes (a longer
// name is cut: it cannot be a real account's and must not cost memory).
inline constexpr size_t kShieldUserMax = 256;
std::string shield_user_key(std::string_view user);

// The key of one entry from an operator's text (the admin API's clear): an address for
// "address" (IPv4-mapped as IPv4); an address or its /24 or /64 ("192.0.2.0/24") for
// "network"; a user name for "user"; a country code for "country". nullopt when the text is
// not one of these.
std::optional<std::string> shield_key(ShieldDimension d, std::string_view text);
// The keys the shield files failures of one source under, per dimension.
std::string shield_address_key(const boost::asio::ip::address& a);
std::string shield_network_key(const boost::asio::ip::address& a);
// "address", "network", "user", "country" back to the dimension.
std::optional<ShieldDimension> parse_shield_dimension(std::string_view name);

}  // namespace routing
