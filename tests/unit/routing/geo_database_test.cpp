#include "routing/geo_database.h"

#include <gtest/gtest.h>

#include "proxy/geo_database_file.h"
#include "tests/unit/routing/geo_test_data.h"

namespace routing {
namespace {

namespace ip = boost::asio::ip;
using testing::geo_test_file;

std::string country(const GeoDatabase& db, const char* address) {
  return std::string(db.lookup(ip::make_address(address)).label());
}

std::shared_ptr<const GeoDatabase> open_ok(const std::string& name) {
  std::string error;
  auto db = proxy::open_geo_database(geo_test_file(name), error);
  EXPECT_TRUE(db) << name << ": " << error;
  return db;
}

TEST(Country, CodesAndIndexes) {
  EXPECT_FALSE(Country().known());
  EXPECT_EQ(Country().label(), "unknown");
  EXPECT_EQ(Country().code(), "-");
  auto de = Country::from_code("de");
  ASSERT_TRUE(de);
  EXPECT_EQ(de->code(), "DE");
  EXPECT_EQ(Country::from_index(de->index()), *de);
  EXPECT_EQ(Country::from_code("AA")->index(), 1u);
  EXPECT_EQ(Country::from_code("ZZ")->index(), kCountrySlots - 1);
  EXPECT_FALSE(Country::from_code("D"));
  EXPECT_FALSE(Country::from_code("DEU"));
  EXPECT_FALSE(Country::from_code("D1"));
  EXPECT_FALSE(Country::from_index(kCountrySlots).known());
}

TEST(GeoDatabase, KnownAnswersOfTheCountryDatabase) {
  for (const char* name : {"GeoLite2-Country-Test.mmdb", "GeoIP2-Country-Test.mmdb"}) {
    auto db = open_ok(name);
    ASSERT_TRUE(db);
    EXPECT_EQ(country(*db, "81.2.69.142"), "GB") << name;
    EXPECT_EQ(country(*db, "89.160.20.128"), "SE") << name;
    EXPECT_EQ(country(*db, "216.160.83.56"), "US") << name;
    EXPECT_EQ(country(*db, "2001:218::1"), "JP") << name;
    EXPECT_EQ(country(*db, "2001:220::1"), "KR") << name;
    EXPECT_EQ(country(*db, "1.1.1.1"), "unknown") << name;
    EXPECT_EQ(country(*db, "127.0.0.1"), "unknown") << name;
    // A dual-stack listener sees IPv4 clients as IPv4-mapped IPv6 addresses.
    EXPECT_EQ(country(*db, "::ffff:81.2.69.142"), "GB") << name;
  }
}

TEST(GeoDatabase, CityDatabaseHasCountriesToo) {
  auto db = open_ok("GeoLite2-City-Test.mmdb");
  ASSERT_TRUE(db);
  EXPECT_EQ(country(*db, "81.2.69.142"), "GB");
  EXPECT_EQ(country(*db, "2.125.160.216"), "GB");
  EXPECT_NE(db->describe().find("GeoLite2-City"), std::string::npos) << db->describe();
}

TEST(GeoDatabase, DatabaseWithoutCountriesAnswersUnknown) {
  auto db = open_ok("GeoLite2-ASN-Test.mmdb");
  ASSERT_TRUE(db);
  EXPECT_EQ(country(*db, "1.128.0.0"), "unknown");
}

TEST(GeoDatabase, Ipv6LookupInIpv4DatabaseIsUnknown) {
  auto db = open_ok("MaxMind-DB-test-ipv4-24.mmdb");
  ASSERT_TRUE(db);
  EXPECT_EQ(country(*db, "2001:218::1"), "unknown");
  EXPECT_NE(db->describe().find("IPv4 only"), std::string::npos);
}

}  // namespace
}  // namespace routing
