#include "routing/route_table.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/settings.h"

namespace routing {
namespace {

RouteSettings route(std::optional<std::string> host, std::string prefix = "/",
                    std::string pool = "p") {
  RouteSettings r;
  r.host = std::move(host);
  r.path_prefix = std::move(prefix);
  r.pool = std::move(pool);
  return r;
}

constexpr auto kAny = std::nullopt;

std::string normalize(std::string_view host) {
  char buf[256];
  return std::string(RouteTable::normalize_host(host, buf));
}

TEST(RouteTableTest, EmptyTableMatchesNothing) {
  RouteTable t({});
  EXPECT_EQ(t.match("webmail.example.coop", "/"), std::nullopt);
  EXPECT_EQ(t.match("", "/"), std::nullopt);
}

TEST(RouteTableTest, OptionsAsterisk) {
  RouteTable t({route("cloud.example.coop", "/dav/"), route("cloud.example.coop", "/"),
                route("webmail.example.coop", "/a/"), route("webmail.example.coop", "/b/"),
                route("dav.example.coop", "/x/"), route("dav.example.coop", "*"),
                route(kAny, "/any/")});
  EXPECT_EQ(t.match("cloud.example.coop", "*"), 1u);    // shortest prefix: "/"
  EXPECT_EQ(t.match("webmail.example.coop", "*"), 2u);  // equal prefixes: the first in the file
  EXPECT_EQ(t.match("dav.example.coop", "*"), 5u);      // the route made for it
  EXPECT_EQ(t.match("other.example.coop", "*"), 6u);    // the any-host group
  // A "*" route serves nothing else.
  EXPECT_EQ(t.match("dav.example.coop", "/"), std::nullopt);
  EXPECT_EQ(t.match("dav.example.coop", "/any/z"), 6u);
  EXPECT_EQ(t.match("dav.example.coop", "/x/y"), 4u);
  RouteTable star_only({route("dav.example.coop", "*")});
  EXPECT_EQ(star_only.match("dav.example.coop", "/"), std::nullopt);
  EXPECT_EQ(star_only.match("other.example.coop", "*"), std::nullopt);
}

TEST(RouteTableTest, ExactHost) {
  RouteTable t({route("webmail.example.coop"), route("cloud.example.coop")});
  EXPECT_EQ(t.match("webmail.example.coop", "/"), 0u);
  EXPECT_EQ(t.match("cloud.example.coop", "/index.php/apps/files"), 1u);
  EXPECT_EQ(t.match("mail.example.coop", "/"), std::nullopt);
  EXPECT_EQ(t.match("example.coop", "/"), std::nullopt);
  EXPECT_EQ(t.match("xwebmail.example.coop", "/"), std::nullopt);
  EXPECT_EQ(t.match("webmail.example.coop.evil", "/"), std::nullopt);
}

TEST(RouteTableTest, WildcardMatchesOneLabelDeep) {
  RouteTable t({route("*.example.coop")});
  EXPECT_EQ(t.match("webmail.example.coop", "/"), 0u);
  EXPECT_EQ(t.match("x.example.coop", "/"), 0u);
}

TEST(RouteTableTest, WildcardMatchesSeveralLabelsDeep) {
  RouteTable t({route("*.example.coop")});
  EXPECT_EQ(t.match("a.b.example.coop", "/"), 0u);
  EXPECT_EQ(t.match("a.b.c.d.example.coop", "/"), 0u);
}

TEST(RouteTableTest, WildcardDoesNotMatchTheBareDomain) {
  RouteTable t({route("*.example.coop")});
  EXPECT_EQ(t.match("example.coop", "/"), std::nullopt);
  EXPECT_EQ(t.match(".example.coop", "/"), std::nullopt);
  EXPECT_EQ(t.match("coop", "/"), std::nullopt);
  EXPECT_EQ(t.match("notexample.coop", "/"), std::nullopt);
  EXPECT_EQ(t.match("a.example.coop.org", "/"), std::nullopt);
}

TEST(RouteTableTest, LongerWildcardSuffixWins) {
  // Whatever their order in the file.
  RouteTable t({route("*.example.coop"), route("*.cloud.example.coop")});
  EXPECT_EQ(t.match("a.cloud.example.coop", "/"), 1u);
  EXPECT_EQ(t.match("a.b.cloud.example.coop", "/"), 1u);
  EXPECT_EQ(t.match("cloud.example.coop", "/"), 0u);
  EXPECT_EQ(t.match("a.mail.example.coop", "/"), 0u);

  RouteTable reversed({route("*.cloud.example.coop"), route("*.example.coop")});
  EXPECT_EQ(reversed.match("a.cloud.example.coop", "/"), 0u);
  EXPECT_EQ(reversed.match("cloud.example.coop", "/"), 1u);
}

TEST(RouteTableTest, ExactHostBeatsWildcardAndAnyHost) {
  RouteTable t({route(kAny), route("*.example.coop"), route("webmail.example.coop")});
  EXPECT_EQ(t.match("webmail.example.coop", "/"), 2u);
  EXPECT_EQ(t.match("cloud.example.coop", "/"), 1u);
  EXPECT_EQ(t.match("other.org", "/"), 0u);
}

TEST(RouteTableTest, AnyHostFallback) {
  RouteTable t({route("webmail.example.coop"), route(kAny)});
  EXPECT_EQ(t.match("unknown.org", "/"), 1u);
  EXPECT_EQ(t.match("203.0.113.9", "/"), 1u);
  EXPECT_EQ(t.match("", "/"), 1u) << "no Host header";
  EXPECT_EQ(t.match("webmail.example.coop", "/"), 0u);
}

TEST(RouteTableTest, LongestPrefixWins) {
  RouteTable t({route("cloud.example.coop", "/", "web"),
                route("cloud.example.coop", "/remote.php", "php"),
                route("cloud.example.coop", "/remote.php/dav", "dav"),
                route("cloud.example.coop", "/remote", "remote")});
  EXPECT_EQ(t.match("cloud.example.coop", "/remote.php/dav/files/alice/a.txt"), 2u);
  EXPECT_EQ(t.match("cloud.example.coop", "/remote.php/dav"), 2u);
  EXPECT_EQ(t.match("cloud.example.coop", "/remote.php/webdav"), 1u);
  EXPECT_EQ(t.match("cloud.example.coop", "/remote.phpx"), 1u) << "a plain string prefix";
  EXPECT_EQ(t.match("cloud.example.coop", "/remote"), 3u);
  EXPECT_EQ(t.match("cloud.example.coop", "/index.php"), 0u);
  EXPECT_EQ(t.match("cloud.example.coop", "/"), 0u);
}

TEST(RouteTableTest, LongestPrefixWinsForWildcardAndAnyHost) {
  RouteTable t({route("*.example.coop", "/"), route("*.example.coop", "/api/"), route(kAny, "/"),
                route(kAny, "/.well-known/acme-challenge/")});
  EXPECT_EQ(t.match("x.example.coop", "/api/v1"), 1u);
  EXPECT_EQ(t.match("x.example.coop", "/apix"), 0u);
  EXPECT_EQ(t.match("other.org", "/.well-known/acme-challenge/token"), 3u);
  EXPECT_EQ(t.match("other.org", "/.well-known/other"), 2u);
}

TEST(RouteTableTest, FallsThroughFromExactToWildcardToAnyHost) {
  RouteTable t({route("cloud.example.coop", "/status.php"), route("*.example.coop", "/api/"),
                route(kAny, "/")});
  EXPECT_EQ(t.match("cloud.example.coop", "/status.php"), 0u);
  EXPECT_EQ(t.match("cloud.example.coop", "/api/x"), 1u) << "exact host, no prefix: wildcard";
  EXPECT_EQ(t.match("cloud.example.coop", "/index.php"), 2u) << "then any host";
  EXPECT_EQ(t.match("webmail.example.coop", "/status.php"), 2u);
}

TEST(RouteTableTest, FallsThroughFromLongerToShorterWildcard) {
  RouteTable t({route("*.cloud.example.coop", "/dav/"), route("*.example.coop", "/")});
  EXPECT_EQ(t.match("a.cloud.example.coop", "/dav/x"), 0u);
  EXPECT_EQ(t.match("a.cloud.example.coop", "/other"), 1u);
}

TEST(RouteTableTest, NoMatchingPrefixAnywhereIsNoMatch) {
  RouteTable t({route("cloud.example.coop", "/status.php"), route("*.example.coop", "/api/"),
                route(kAny, "/.well-known/")});
  EXPECT_EQ(t.match("cloud.example.coop", "/index.php"), std::nullopt);
  EXPECT_EQ(t.match("unknown.org", "/"), std::nullopt);
}

TEST(RouteTableTest, QueryStringIsIgnored) {
  RouteTable t({route(kAny, "/"), route(kAny, "/status.php"), route(kAny, "/index.php/apps")});
  EXPECT_EQ(t.match("h", "/status.php?format=json"), 1u);
  EXPECT_EQ(t.match("h", "/status.php?"), 1u);
  EXPECT_EQ(t.match("h", "/?/status.php"), 0u) << "the query is not part of the path";
  EXPECT_EQ(t.match("h", "/index.php?x=/index.php/apps"), 0u);
  EXPECT_EQ(t.match("h", "/index.php/apps?a=b?c"), 2u);
}

TEST(RouteTableTest, HostPortCaseAndTrailingDotAreIgnored) {
  RouteTable t({route("webmail.example.coop"), route("*.example.coop")});
  EXPECT_EQ(t.match("webmail.example.coop:443", "/"), 0u);
  EXPECT_EQ(t.match("WebMail.Example.COOP", "/"), 0u);
  EXPECT_EQ(t.match("webmail.example.coop.", "/"), 0u);
  EXPECT_EQ(t.match("WEBMAIL.EXAMPLE.COOP.:8443", "/"), 0u);
  EXPECT_EQ(t.match("Cloud.Example.Coop:443", "/"), 1u);
  EXPECT_EQ(t.match("a.b.example.coop.", "/"), 1u);
}

TEST(RouteTableTest, RouteHostsAreNormalizedToo) {
  RouteTable t({route("WebMail.Example.COOP"), route("*.Cloud.Example.Coop.")});
  EXPECT_EQ(t.match("webmail.example.coop", "/"), 0u);
  EXPECT_EQ(t.match("a.cloud.example.coop", "/"), 1u);
}

TEST(RouteTableTest, Ipv6LiteralHost) {
  RouteTable t({route("[2001:db8::1]"), route("192.0.2.10")});
  EXPECT_EQ(t.match("[2001:db8::1]", "/"), 0u);
  EXPECT_EQ(t.match("[2001:db8::1]:8443", "/"), 0u);
  EXPECT_EQ(t.match("[2001:DB8::1]:443", "/"), 0u);
  EXPECT_EQ(t.match("[2001:db8::2]", "/"), std::nullopt);
  EXPECT_EQ(t.match("[::1]", "/"), std::nullopt);
  EXPECT_EQ(t.match("192.0.2.10:80", "/"), 1u);
  EXPECT_EQ(t.match("192.0.2.1", "/"), std::nullopt);
}

TEST(RouteTableTest, FirstInFileWinsForEqualRoutes) {
  RouteTable t({route("webmail.example.coop", "/", "a"), route("webmail.example.coop", "/", "b"),
                route("WebMail.Example.Coop:443", "/", "c"), route("*.example.coop", "/api"),
                route("*.example.coop", "/api"), route(kAny, "/x"), route(kAny, "/x")});
  EXPECT_EQ(t.match("webmail.example.coop", "/"), 0u);
  EXPECT_EQ(t.match("cloud.example.coop", "/api"), 3u);
  EXPECT_EQ(t.match("other.org", "/x"), 5u);
}

TEST(RouteTableTest, PrefixesOfEqualLengthEachMatchTheirOwnPaths) {
  RouteTable t({route(kAny, "/"), route(kAny, "/ab"), route(kAny, "/a"), route(kAny, "/ac")});
  EXPECT_EQ(t.match("h", "/ab"), 1u);
  EXPECT_EQ(t.match("h", "/ac"), 3u);
  EXPECT_EQ(t.match("h", "/ad"), 2u);
}

TEST(RouteTableTest, OverlongHostOnlyMatchesAnyHost) {
  std::string host(300, 'a');
  host += ".example.coop";
  RouteTable t({route("*.example.coop"), route(kAny, "/")});
  EXPECT_EQ(t.match(host, "/"), 1u);
  RouteTable no_fallback({route("*.example.coop")});
  EXPECT_EQ(no_fallback.match(host, "/"), std::nullopt);
}

TEST(RouteTableNormalizeTest, LowercasesAndDropsPortAndTrailingDot) {
  EXPECT_EQ(normalize("WebMail.Example.COOP:443"), "webmail.example.coop");
  EXPECT_EQ(normalize("webmail.example.coop"), "webmail.example.coop");
  EXPECT_EQ(normalize("example.coop."), "example.coop");
  EXPECT_EQ(normalize("example.coop.:80"), "example.coop");
  EXPECT_EQ(normalize("192.0.2.10:8080"), "192.0.2.10");
  EXPECT_EQ(normalize("Host-With-Dash_9"), "host-with-dash_9");
}

TEST(RouteTableNormalizeTest, Ipv6KeepsBracketsAndDropsPort) {
  EXPECT_EQ(normalize("[::1]:80"), "[::1]");
  EXPECT_EQ(normalize("[::1]"), "[::1]");
  EXPECT_EQ(normalize("[2001:DB8::A]:443"), "[2001:db8::a]");
}

TEST(RouteTableNormalizeTest, EmptyAndDegenerateInputs) {
  EXPECT_EQ(normalize(""), "");
  EXPECT_EQ(normalize(":443"), "");
  EXPECT_EQ(normalize("."), "");
  EXPECT_EQ(normalize(".:80"), "");
}

TEST(RouteTableNormalizeTest, LengthLimit) {
  std::string max(256, 'A');
  EXPECT_EQ(normalize(max), std::string(256, 'a'));
  EXPECT_EQ(normalize(max + ":443"), std::string(256, 'a')) << "the port is not counted";
  EXPECT_EQ(normalize(max + "."), std::string(256, 'a')) << "nor the trailing dot";
  EXPECT_EQ(normalize(std::string(257, 'a')), "");
  EXPECT_EQ(normalize(std::string(10'000, 'a')), "");
}

TEST(RouteTableNormalizeTest, WritesIntoTheGivenBuffer) {
  char buf[256];
  std::string_view v = RouteTable::normalize_host("ABC:1", buf);
  EXPECT_EQ(v, "abc");
  EXPECT_EQ(v.data(), buf);
}

}  // namespace
}  // namespace routing
