#include "proxy/config/address.h"

#include <gtest/gtest.h>

namespace proxy::config {
namespace {

namespace ip = boost::asio::ip;

TEST(AddressEndpoint, ParsesIpv4) {
  auto ep = parse_endpoint("1.2.3.4:80");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->address(), ip::make_address("1.2.3.4"));
  EXPECT_EQ(ep->port(), 80);
  EXPECT_EQ(parse_endpoint("0.0.0.0:65535")->port(), 65535);
}

TEST(AddressEndpoint, ParsesIpv6InBrackets) {
  auto ep = parse_endpoint("[::1]:8080");
  ASSERT_TRUE(ep);
  EXPECT_TRUE(ep->address().is_v6());
  EXPECT_EQ(ep->address(), ip::make_address("::1"));
  EXPECT_EQ(ep->port(), 8080);
  auto full = parse_endpoint("[2001:db8::1]:1");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->address(), ip::make_address("2001:db8::1"));
  EXPECT_EQ(full->port(), 1);
}

TEST(AddressEndpoint, RequiresPortInRange) {
  for (const char* text : {"1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:99999",
                           "1.2.3.4:-1", "1.2.3.4:+80", "1.2.3.4:80a", "1.2.3.4: 80", "[::1]",
                           "[::1]:", "[::1]:0", "1.2.3.4:000080"}) {
    EXPECT_EQ(parse_endpoint(text), std::nullopt) << text;
  }
}

TEST(AddressEndpoint, RejectsHostNamesAndMalformedLiterals) {
  for (const char* text : {"", ":80", "localhost:80", "example.coop:443", "1.2.3:80",
                           "1.2.3.256:80", "::1:80", "[1.2.3.4]:80", "[::1]80", "[::1:80", "[]:80",
                           "1.2.3.4:80:90", " 1.2.3.4:80", "[::g]:80"}) {
    EXPECT_EQ(parse_endpoint(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace proxy::config
