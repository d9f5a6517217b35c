#include "routing/access_rule.h"

#include <gtest/gtest.h>

namespace routing {
namespace {

namespace ip = boost::asio::ip;

Country c(const char* code) {
  return *Country::from_code(code);
}
Cidr cidr(const char* text) {
  return *parse_cidr(text);
}
Refusal check(const AccessRule& r, const char* address, Country country) {
  return r.check(ip::make_address(address), country);
}

TEST(AccessRule, EmptyRuleLetsEveryoneIn) {
  AccessRule r;
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.uses_countries());
  EXPECT_EQ(check(r, "192.0.2.1", c("CN")), Refusal::None);
  EXPECT_EQ(check(r, "192.0.2.1", Country()), Refusal::None);
}

TEST(AccessRule, AllowCountries) {
  AccessRule r;
  for (auto code : {"BE", "FR", "NL", "LU", "DE"}) r.allow_country(c(code));
  EXPECT_TRUE(r.uses_countries());
  EXPECT_EQ(check(r, "192.0.2.1", c("FR")), Refusal::None);
  EXPECT_EQ(check(r, "192.0.2.1", c("CN")), Refusal::Country);
  // An allow list lets in only what it names: unknown addresses too, unless said otherwise.
  EXPECT_EQ(check(r, "192.0.2.1", Country()), Refusal::UnknownCountry);
  r.set_allow_unknown_country(true);
  EXPECT_EQ(check(r, "192.0.2.1", Country()), Refusal::None);
}

TEST(AccessRule, DenyCountries) {
  AccessRule r;
  r.deny_country(c("XX"));
  r.deny_country(c("CN"));
  EXPECT_EQ(check(r, "192.0.2.1", c("CN")), Refusal::Country);
  EXPECT_EQ(check(r, "192.0.2.1", c("DE")), Refusal::None);
  EXPECT_EQ(check(r, "192.0.2.1", Country()), Refusal::None);
  r.set_allow_unknown_country(false);
  EXPECT_EQ(check(r, "192.0.2.1", Country()), Refusal::UnknownCountry);
}

TEST(AccessRule, SourcesComeFirst) {
  AccessRule r;
  r.allow_country(c("DE"));
  r.allow_source(cidr("198.51.100.0/24"));
  r.deny_source(cidr("198.51.100.66"));
  // An allowed range passes whatever its country.
  EXPECT_EQ(check(r, "198.51.100.7", c("CN")), Refusal::None);
  EXPECT_EQ(check(r, "198.51.100.7", Country()), Refusal::None);
  // A denied address inside it does not, even from an allowed country.
  EXPECT_EQ(check(r, "198.51.100.66", c("DE")), Refusal::Source);
  // Others go on to the country rules.
  EXPECT_EQ(check(r, "203.0.113.1", c("DE")), Refusal::None);
  EXPECT_EQ(check(r, "203.0.113.1", c("CN")), Refusal::Country);
}

TEST(AccessRule, AllowSourcesAloneIsAnAllowList) {
  AccessRule r;
  r.allow_source(cidr("10.0.0.0/8"));
  r.allow_source(cidr("2001:db8::/32"));
  EXPECT_FALSE(r.uses_countries());
  EXPECT_EQ(check(r, "10.1.2.3", Country()), Refusal::None);
  EXPECT_EQ(check(r, "::ffff:10.1.2.3", Country()), Refusal::None);
  EXPECT_EQ(check(r, "2001:db8::5", Country()), Refusal::None);
  EXPECT_EQ(check(r, "192.0.2.1", c("DE")), Refusal::Source);
}

TEST(AccessRule, DenySourcesAlone) {
  AccessRule r;
  r.deny_source(cidr("192.0.2.0/24"));
  EXPECT_EQ(check(r, "192.0.2.200", Country()), Refusal::Source);
  EXPECT_EQ(check(r, "192.0.3.1", Country()), Refusal::None);
}

TEST(AccessRule, RefusalNames) {
  EXPECT_EQ(refusal_name(Refusal::Source), "source");
  EXPECT_EQ(refusal_name(Refusal::Country), "country");
  EXPECT_EQ(refusal_name(Refusal::UnknownCountry), "unknown_country");
}

}  // namespace
}  // namespace routing
