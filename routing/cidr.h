// An address range ("192.0.2.0/24", "2001:db8::/32", or one address) and the test of a peer
// address against it: which sources may send a PROXY header, which may connect at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/asio/ip/address.hpp>

namespace routing {

struct Cidr {
  boost::asio::ip::address network;  // host bits cleared
  uint8_t prefix = 0;

  // An IPv4-mapped IPv6 peer (::ffff:a.b.c.d) matches IPv4 ranges.
  bool contains(const boost::asio::ip::address& a) const;
  bool operator==(const Cidr&) const = default;
};

// "a.b.c.d/n", "v6/n" or a bare address (/32, /128). Host bits set in the address are an
// error (a typo for another range), as are a missing or out-of-range prefix.
std::optional<Cidr> parse_cidr(std::string_view text);

}  // namespace routing
