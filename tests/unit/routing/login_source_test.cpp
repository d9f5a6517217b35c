#include "routing/login_source.h"

#include <gtest/gtest.h>

#include <vector>

namespace routing {
namespace {

namespace ip = boost::asio::ip;

ip::address addr(const char* s) {
  return ip::make_address(s);
}

TEST(LoginSourceTest, NetworksAreSlash24ForIpv4AndSlash64ForIpv6) {
  EXPECT_EQ(shield_network_key(addr("192.0.2.77")), "192.0.2.0/24");
  EXPECT_EQ(shield_network_key(addr("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), "2001:db8:1:2::/64");
  EXPECT_EQ(shield_network(addr("198.51.100.255")), shield_network(addr("198.51.100.1")));
  EXPECT_NE(shield_network(addr("198.51.100.1")), shield_network(addr("198.51.101.1")));
}

TEST(LoginSourceTest, Ipv4MappedIpv6CountsAsIpv4) {
  EXPECT_EQ(shield_address_key(addr("::ffff:192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(shield_network_key(addr("::ffff:192.0.2.7")), "192.0.2.0/24");
  EXPECT_EQ(unmapped(addr("::ffff:10.1.2.3")), addr("10.1.2.3"));
  EXPECT_EQ(unmapped(addr("2001:db8::1")), addr("2001:db8::1"));
}

TEST(LoginSourceTest, TrustedSourceAnnouncesTheClient) {
  std::vector<Cidr> trusted{*parse_cidr("10.0.0.5"), *parse_cidr("fd00::/64")};
  auto client = addr("203.0.113.9");
  // A webmail node: the address it announces is the client's.
  EXPECT_EQ(counted_client(addr("10.0.0.5"), client, trusted), client);
  EXPECT_EQ(counted_client(addr("::ffff:10.0.0.5"), client, trusted), client)
      << "a mapped peer matches an IPv4 range";
  EXPECT_EQ(counted_client(addr("fd00::8"), addr("::ffff:203.0.113.9"), trusted), client)
      << "the announced address comes back unmapped";
  // It announced nothing: neither it nor anyone is counted by address.
  EXPECT_EQ(counted_client(addr("10.0.0.5"), std::nullopt, trusted), std::nullopt);
  // Anyone else counts as itself, whatever it announces.
  EXPECT_EQ(counted_client(addr("10.0.0.6"), client, trusted), addr("10.0.0.6"));
  EXPECT_EQ(counted_client(addr("::ffff:10.0.0.6"), std::nullopt, trusted), addr("10.0.0.6"));
  EXPECT_EQ(counted_client(addr("10.0.0.5"), client, {}), addr("10.0.0.5"));
}

TEST(LoginSourceTest, UserKeysAreLowerCasedAndBounded) {
  EXPECT_EQ(shield_user_key("Alice@Example.COOP"), "alice@example.coop");
  EXPECT_EQ(shield_user_key(std::string(1000, 'x')).size(), kShieldUserMax);
}

TEST(LoginSourceTest, OperatorKeysPerDimension) {
  using D = ShieldDimension;
  EXPECT_EQ(shield_key(D::Address, "::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(shield_key(D::Address, "alice"), std::nullopt);
  EXPECT_EQ(shield_key(D::Network, "192.0.2.7"), "192.0.2.0/24");
  EXPECT_EQ(shield_key(D::Network, "192.0.2.0/24"), "192.0.2.0/24");
  EXPECT_EQ(shield_key(D::Network, "2001:db8::/64"), "2001:db8::/64");
  EXPECT_EQ(shield_key(D::Network, "192.0.0.0/16"), std::nullopt) << "not a counted network";
  EXPECT_EQ(shield_key(D::User, "Bob"), "bob");
  EXPECT_EQ(shield_key(D::User, ""), std::nullopt);
  EXPECT_EQ(shield_key(D::Country, "de"), "DE");
  EXPECT_EQ(shield_key(D::Country, "DEU"), std::nullopt);
  EXPECT_EQ(parse_shield_dimension("network"), D::Network);
  EXPECT_EQ(parse_shield_dimension("ip"), std::nullopt);
}

}  // namespace
}  // namespace routing
