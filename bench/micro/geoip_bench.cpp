// The per-connection GeoIP cost: one country lookup in a memory-mapped MaxMind database (the
// public test databases in shared/testdata/geoip), and the access rule checked after it.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "proxy/geo_database_file.h"
#include "routing/access_rule.h"

namespace {

namespace ip = boost::asio::ip;

std::shared_ptr<const routing::GeoDatabase> open_test_db(const char* name) {
  std::string error;
  auto db = proxy::open_geo_database(
      std::string(PASSEUR_SOURCE_DIR "/../shared/testdata/geoip/") + name, error);
  if (!db) std::fprintf(stderr, "%s: %s\n", name, error.c_str());
  return db;
}

// Found and not found, IPv4 and IPv6, as clients come.
const std::vector<ip::address>& addresses() {
  static const std::vector<ip::address> list = [] {
    std::vector<ip::address> v;
    for (const char* a : {"81.2.69.142", "89.160.20.128", "216.160.83.56", "1.1.1.1", "2001:218::1",
                          "2001:220::1", "203.0.113.9", "::ffff:81.2.69.160"})
      v.push_back(ip::make_address(a));
    return v;
  }();
  return list;
}

void lookup(benchmark::State& state, const char* name) {
  auto db = open_test_db(name);
  if (!db) {
    state.SkipWithError("test database missing");
    return;
  }
  const auto& list = addresses();
  size_t i = 0;
  for (auto _ : state) {
    routing::Country c = db->lookup(list[i++ % list.size()]);
    benchmark::DoNotOptimize(c);
  }
}

void BM_GeoLookupCountry(benchmark::State& state) {
  lookup(state, "GeoLite2-Country-Test.mmdb");
}
BENCHMARK(BM_GeoLookupCountry);

void BM_GeoLookupCity(benchmark::State& state) {
  lookup(state, "GeoLite2-City-Test.mmdb");
}
BENCHMARK(BM_GeoLookupCity);

void BM_GeoLookupAndRule(benchmark::State& state) {
  auto db = open_test_db("GeoLite2-Country-Test.mmdb");
  if (!db) {
    state.SkipWithError("test database missing");
    return;
  }
  routing::AccessRule rule;
  for (const char* c : {"BE", "FR", "NL", "LU", "DE"})
    rule.allow_country(*routing::Country::from_code(c));
  rule.deny_source(*routing::parse_cidr("192.0.2.0/24"));
  rule.set_allow_unknown_country(true);
  const auto& list = addresses();
  size_t i = 0;
  for (auto _ : state) {
    const ip::address& a = list[i++ % list.size()];
    routing::Refusal r = rule.check(a, db->lookup(a));
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_GeoLookupAndRule);

// A database given in PASSEUR_BENCH_MMDB (bench/micro/make_bench_mmdb.pl makes one of a few
// MB), looked up with 64Ki random IPv4 addresses: the search tree's nodes are spread over
// megabytes, so the cache misses of a production database show. Registered only when set.
void BM_GeoLookupLarge(benchmark::State& state, std::string path) {
  std::string error;
  auto db = proxy::open_geo_database(path, error);
  if (!db) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<ip::address> list;
  std::mt19937 rng(42);
  for (int i = 0; i < 65536; ++i) list.push_back(ip::address_v4(static_cast<uint32_t>(rng())));
  size_t i = 0, found = 0;
  for (auto _ : state) {
    routing::Country c = db->lookup(list[i++ & 65535]);
    found += c.known();
    benchmark::DoNotOptimize(c);
  }
  state.counters["found_share"] = static_cast<double>(found) / static_cast<double>(i ? i : 1);
}

const bool kLargeRegistered = [] {
  const char* path = std::getenv("PASSEUR_BENCH_MMDB");
  if (path && *path) benchmark::RegisterBenchmark("BM_GeoLookupLarge", BM_GeoLookupLarge, path);
  return true;
}();

}  // namespace
