#include "proxy/http/decide.h"

#include <gtest/gtest.h>

#include "routing/cidr.h"

namespace proxy::http {
namespace {

using Kind = Decision::Kind;

// Routes of one snapshot, in config order (their indexes are the decision's `route`):
//   0: www.example.coop /          -> web
//   1: www.example.coop /admin     -> web, refused to 192.0.2.0/24 and to clients from FR,
//                                        max_body 10
//   2: www.example.coop /upload    -> web, max_body 100
//   3: any host /.well-known/acme-challenge/ -> certbot
//   4: big.example.coop /          -> web, max_body 0 (unlimited), refused to 192.0.2.0/24
struct Fixture {
  Fixture() {
    Config c;
    routing::PoolSettings web;
    web.name = "web";
    web.nodes = {{"node1", "10.0.0.11:8081", 1}};
    routing::PoolSettings certbot;
    certbot.name = "certbot";
    certbot.nodes = {{"certbot", "10.0.0.20:8080", 1}};
    c.pools = {web, certbot};
    auto route = [&](std::optional<std::string> host, std::string prefix, std::string pool) {
      routing::RouteSettings r;
      r.host = std::move(host);
      r.path_prefix = std::move(prefix);
      r.pool = std::move(pool);
      c.routes.push_back(std::move(r));
      return &c.routes.back();
    };
    route("www.example.coop", "/", "web");
    route("www.example.coop", "/admin", "web");
    route("www.example.coop", "/upload", "web");
    route(std::nullopt, std::string(kAcmePrefix), "certbot");
    route("big.example.coop", "/", "web");
    c.routes[1].access.deny_source(*routing::parse_cidr("192.0.2.0/24"));
    c.routes[1].access.deny_country(*routing::Country::from_code("FR"));
    c.routes[1].max_body = 10;
    c.routes[2].max_body = 100;
    c.routes[4].max_body = 0;
    c.routes[4].access.deny_source(*routing::parse_cidr("192.0.2.0/24"));
    snap = std::make_shared<const Snapshot>(std::move(c), nullptr, 1);
  }

  Decision run(const RequestHead& req) {
    return decide(req, RequestOrigin{.listener = listener,
                                     .snapshot = *snap,
                                     .tls = tls,
                                     .client = client,
                                     .country = country});
  }

  std::shared_ptr<const Snapshot> snap;
  ListenerSettings listener;
  bool tls = false;
  boost::asio::ip::address client = boost::asio::ip::make_address("203.0.113.5");
  routing::Country country;
};

RequestHead get(std::string_view target, std::string_view host = "www.example.coop") {
  RequestHead h;
  h.method = "GET";
  h.target = target;
  h.host = host;
  h.host_count = host.empty() ? 0 : 1;
  return h;
}

TEST(Decide, ProxiesAnOriginFormRequestToItsRoute) {
  Fixture f;
  Decision d = f.run(get("/index.html"));
  EXPECT_EQ(d.kind, Kind::Proxy);
  EXPECT_EQ(d.route, 0u);
  EXPECT_EQ(d.host, "www.example.coop");
  EXPECT_EQ(d.target, "/index.html");
}

TEST(Decide, RefusesConnect) {
  Fixture f;
  RequestHead h = get("www.example.coop:443");
  h.method = "CONNECT";
  Decision d = f.run(h);
  EXPECT_EQ(d.kind, Kind::Reject);
  EXPECT_EQ(d.status, 405u);
  EXPECT_EQ(d.text, "CONNECT not allowed");
}

TEST(Decide, AbsoluteFormTargetGivesHostAndPath) {
  Fixture f;
  // Its authority replaces the Host field.
  Decision d = f.run(get("http://www.example.coop/admin/x?y=1", "other.example.coop"));
  EXPECT_EQ(d.kind, Kind::Proxy);
  EXPECT_EQ(d.host, "www.example.coop");
  EXPECT_EQ(d.target, "/admin/x?y=1");
  EXPECT_EQ(d.route, 1u);

  d = f.run(get("https://www.example.coop", "www.example.coop"));
  EXPECT_EQ(d.kind, Kind::Proxy);
  EXPECT_EQ(d.host, "www.example.coop");
  EXPECT_EQ(d.target, "/");
  EXPECT_EQ(d.route, 0u);
}

TEST(Decide, AbsoluteFormAuthorityIsValidatedAsHost) {
  Fixture f;
  Decision d = f.run(get("http://bad host/", "www.example.coop"));
  EXPECT_EQ(d.kind, Kind::Reject);
  EXPECT_EQ(d.status, 400u);
  EXPECT_EQ(d.text, "bad Host");
}

TEST(Decide, RefusesATargetThatIsNeitherOriginNorAbsoluteForm) {
  Fixture f;
  Decision d = f.run(get("index.html"));
  EXPECT_EQ(d.kind, Kind::Reject);
  EXPECT_EQ(d.status, 400u);
  EXPECT_EQ(d.text, "bad request target");

  d = f.run(get("*"));  // asterisk-form belongs to OPTIONS only
  EXPECT_EQ(d.kind, Kind::Reject);
  EXPECT_EQ(d.text, "bad request target");
}

TEST(Decide, OptionsAsteriskGoesToTheHostsShortestPrefix) {
  Fixture f;
  RequestHead h = get("*");
  h.method = "OPTIONS";
  Decision d = f.run(h);
  EXPECT_EQ(d.kind, Kind::Proxy);
  EXPECT_EQ(d.route, 0u);  // www.example.coop "/", not /admin nor /upload
  EXPECT_EQ(d.target, "*");
  h.host = "big.example.coop";
  d = f.run(h);
  EXPECT_EQ(d.kind, Kind::Proxy);
  EXPECT_EQ(d.route, 4u);
}

TEST(Decide, UnknownTransferCodingIsNotImplemented) {
  Fixture f;
  RequestHead h = get("/upload");
  h.method = "POST";
  h.chunked = true;
  h.has_transfer_encoding = true;
  h.other_coding = true;  // Transfer-Encoding: gzip, chunked
  Decision d = f.run(h);
  EXPECT_EQ(d.kind, Kind::Reject);
  EXPECT_EQ(d.status, 501u);
  h.other_coding = false;
  EXPECT_EQ(f.run(h).kind, Kind::Proxy);
}

TEST(Decide, Http11NeedsExactlyOneHost) {
  Fixture f;
  Decision d = f.run(get("/", ""));
  EXPECT_EQ(d.kind, Kind::Reject);
  EXPECT_EQ(d.status, 400u);
  EXPECT_EQ(d.text, "missing or repeated Host");

  RequestHead h = get("/");
  h.host_count = 2;
  d = f.run(h);
  EXPECT_EQ(d.kind, Kind::Reject);
  EXPECT_EQ(d.text, "missing or repeated Host");
}

TEST(Decide, Http10MayOmitHostButNotRepeatIt) {
  Fixture f;
  RequestHead h = get("/", "");
  h.version = 10;
  EXPECT_EQ(f.run(h).kind, Kind::NoRoute);  // no route for an empty host here

  h = get("/");
  h.version = 10;
  h.host_count = 2;
  Decision d = f.run(h);
  EXPECT_EQ(d.kind, Kind::Reject);
  EXPECT_EQ(d.status, 400u);
  EXPECT_EQ(d.text, "bad Host");
}

TEST(Decide, RefusesAMalformedHost) {
  Fixture f;
  Decision d = f.run(get("/", "www.example.coop/evil"));
  EXPECT_EQ(d.kind, Kind::Reject);
  EXPECT_EQ(d.status, 400u);
  EXPECT_EQ(d.text, "bad Host");
}

TEST(Decide, NoRouteForAnUnknownHost) {
  Fixture f;
  Decision d = f.run(get("/", "unknown.example.coop"));
  EXPECT_EQ(d.kind, Kind::NoRoute);
  EXPECT_EQ(d.host, "unknown.example.coop");
}

TEST(Decide, RedirectingListenerSendsEverythingToHttps) {
  Fixture f;
  f.listener.redirect_to_https = true;
  Decision d = f.run(get("/admin/x"));
  EXPECT_EQ(d.kind, Kind::Redirect);
  EXPECT_EQ(d.host, "www.example.coop");
  EXPECT_EQ(d.target, "/admin/x");
  // Even a request no route matches, and before any access rule.
  EXPECT_EQ(f.run(get("/", "unknown.example.coop")).kind, Kind::Redirect);
  f.client = boost::asio::ip::make_address("192.0.2.7");
  EXPECT_EQ(f.run(get("/admin")).kind, Kind::Redirect);
}

TEST(Decide, RedirectNeedsAHost) {
  Fixture f;
  f.listener.redirect_to_https = true;
  RequestHead h = get("/", "");
  h.version = 10;
  Decision d = f.run(h);
  EXPECT_EQ(d.kind, Kind::Reject);
  EXPECT_EQ(d.status, 400u);
  EXPECT_EQ(d.text, "missing Host");
}

TEST(Decide, RedirectingListenerLetsAcmeChallengesThrough) {
  Fixture f;
  f.listener.redirect_to_https = true;
  Decision d = f.run(get("/.well-known/acme-challenge/token", "unknown.example.coop"));
  EXPECT_EQ(d.kind, Kind::Proxy);
  EXPECT_EQ(d.route, 3u);
  // Only under the prefix itself.
  EXPECT_EQ(f.run(get("/.well-known/acme-challenge")).kind, Kind::Redirect);
}

TEST(Decide, AcmeChallengeWithoutItsRouteIsRedirected) {
  Fixture f;
  f.listener.redirect_to_https = true;
  // big.example.coop's "/" route takes it: not a route made for ACME.
  Decision d = f.run(get("/.well-known/acme-challenge/token", "big.example.coop"));
  EXPECT_EQ(d.kind, Kind::Redirect);
}

TEST(Decide, TlsListenerNeverRedirects) {
  Fixture f;
  f.listener.redirect_to_https = true;
  f.tls = true;
  EXPECT_EQ(f.run(get("/")).kind, Kind::Proxy);
}

TEST(Decide, RouteAccessRuleRefusesBySourceAndCountry) {
  Fixture f;
  EXPECT_EQ(f.run(get("/admin")).kind, Kind::Proxy);
  f.client = boost::asio::ip::make_address("192.0.2.7");
  Decision d = f.run(get("/admin"));
  EXPECT_EQ(d.kind, Kind::Forbidden);
  EXPECT_EQ(d.route, 1u);
  EXPECT_EQ(f.run(get("/")).kind, Kind::Proxy);  // the "/" route has no rule

  f.client = boost::asio::ip::make_address("203.0.113.5");
  f.country = *routing::Country::from_code("FR");
  EXPECT_EQ(f.run(get("/admin")).kind, Kind::Forbidden);
  f.country = *routing::Country::from_code("DE");
  EXPECT_EQ(f.run(get("/admin")).kind, Kind::Proxy);
}

TEST(Decide, DeclaredBodyOverTheRouteLimitIsTooLarge) {
  Fixture f;
  RequestHead h = get("/upload");
  h.method = "POST";
  h.content_length = 100;
  EXPECT_EQ(f.run(h).kind, Kind::Proxy);
  h.content_length = 101;
  Decision d = f.run(h);
  EXPECT_EQ(d.kind, Kind::TooLarge);
  EXPECT_EQ(d.route, 2u);
  // A chunked body is only counted as it streams.
  h.content_length.reset();
  h.chunked = true;
  EXPECT_EQ(f.run(h).kind, Kind::Proxy);
}

TEST(Decide, ZeroMaxBodyIsUnlimited) {
  Fixture f;
  RequestHead h = get("/", "big.example.coop");
  h.method = "POST";
  h.content_length = uint64_t{1} << 40;
  EXPECT_EQ(f.run(h).kind, Kind::Proxy);
}

TEST(Decide, AccessRuleComesBeforeTheBodyLimit) {
  Fixture f;
  RequestHead h = get("/admin");
  h.method = "POST";
  h.content_length = 1000;
  EXPECT_EQ(f.run(h).kind, Kind::TooLarge);
  f.client = boost::asio::ip::make_address("192.0.2.7");
  EXPECT_EQ(f.run(h).kind, Kind::Forbidden);
}

}  // namespace
}  // namespace proxy::http
