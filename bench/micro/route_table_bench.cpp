// Route lookup: Host + target -> route index, for a small and a large table.
#include <benchmark/benchmark.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "routing/route_table.h"
#include "routing/settings.h"

namespace {

using routing::RouteSettings;
using routing::RouteTable;

RouteSettings route(std::optional<std::string> host, std::string prefix) {
  RouteSettings r;
  r.host = std::move(host);
  r.path_prefix = std::move(prefix);
  r.pool = "pool";
  return r;
}

// About `count` routes shaped like a hosting edge: exact hosts (most with one route, some with a
// few prefixes), a wildcard per tenant domain, and any-host routes for ACME challenges only, so
// that an unknown host does not match.
std::vector<RouteSettings> make_routes(size_t count) {
  std::vector<RouteSettings> routes;
  routes.push_back(route(std::nullopt, "/.well-known/acme-challenge/"));
  const size_t tenants = count < 100 ? 2 : count / 20;
  for (size_t t = 0; t < tenants && routes.size() < count; ++t)
    routes.push_back(route("*.tenant" + std::to_string(t) + ".example.coop", "/"));
  for (size_t i = 0; routes.size() < count; ++i) {
    std::string host =
        "svc" + std::to_string(i) + ".tenant" + std::to_string(i % tenants) + ".example.coop";
    routes.push_back(route(host, "/"));
    if (i % 4 == 0 && routes.size() < count) routes.push_back(route(host, "/remote.php/dav/"));
    if (i % 4 == 0 && routes.size() < count) routes.push_back(route(host, "/status.php"));
  }
  return routes;
}

struct Request {
  std::string host;
  std::string target;
};

// Requests that all find a route: exact hosts (with a port, in upper case, with a query, on a
// longer prefix), wildcard hosts one and two labels deep, and any-host ACME requests.
std::vector<Request> hits(size_t count) {
  const size_t tenants = count < 100 ? 2 : count / 20;
  return {
      {"svc0.tenant0.example.coop", "/index.php/apps/files/?dir=/Photos"},
      {"svc0.tenant0.example.coop:443", "/remote.php/dav/files/alice/report.pdf"},
      {"SVC1.Tenant1.Example.Coop", "/"},
      {"svc4.tenant0.example.coop", "/status.php?format=json"},
      {"www.tenant1.example.coop", "/login"},
      {"a.b.tenant" + std::to_string(tenants - 1) + ".example.coop", "/static/app.js"},
      {"unknown.org", "/.well-known/acme-challenge/Xy3kQ9"},
      {"svc2.tenant0.example.coop", "/?_task=mail&_mbox=INBOX"},
  };
}

// Requests that find none: unknown hosts, and known wildcard suffixes of other domains.
std::vector<Request> misses() {
  return {
      {"unknown.org", "/"},  {"www.example.net:8080", "/index.html"},
      {"example.coop", "/"}, {"a.b.c.d.unknown.example.org", "/wp-login.php"},
      {"203.0.113.7", "/"},  {"tenant0.example.coop", "/remote.php/dav/"},
  };
}

void run(benchmark::State& state, const std::vector<Request>& requests, bool expect_hit) {
  const RouteTable table(make_routes(static_cast<size_t>(state.range(0))));
  for (const Request& r : requests)
    if (table.match(r.host, r.target).has_value() != expect_hit)
      state.SkipWithError(("unexpected result for " + r.host + r.target).c_str());
  size_t i = 0;
  for (auto _ : state) {
    const Request& r = requests[i];
    i = i + 1 == requests.size() ? 0 : i + 1;
    benchmark::DoNotOptimize(table.match(r.host, r.target));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RouteLookupHit(benchmark::State& state) {
  run(state, hits(static_cast<size_t>(state.range(0))), true);
}
void BM_RouteLookupMiss(benchmark::State& state) {
  run(state, misses(), false);
}

BENCHMARK(BM_RouteLookupHit)->Arg(10)->Arg(1000);
BENCHMARK(BM_RouteLookupMiss)->Arg(10)->Arg(1000);

}  // namespace
