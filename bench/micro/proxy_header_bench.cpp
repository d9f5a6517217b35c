// PROXY protocol headers: encoding happens once per backend connection of a pool that sends
// them, parsing once per connection from a trusted front balancer.
#include <benchmark/benchmark.h>

#include <array>

#include "proxy/tcp/proxy_header.h"

namespace {

using namespace proxy::tcp_relay;
namespace ip = boost::asio::ip;

void BM_EncodeV2(benchmark::State& state, const char* src, const char* dst) {
  ip::tcp::endpoint s(ip::make_address(src), 51234), d(ip::make_address(dst), 993);
  std::array<uint8_t, kMaxEncoded> out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(encode_proxy_header(ProxyVersion::V2, s, d, out));
    benchmark::ClobberMemory();
  }
}
BENCHMARK_CAPTURE(BM_EncodeV2, tcp4, "192.0.2.7", "10.0.0.1");
BENCHMARK_CAPTURE(BM_EncodeV2, tcp6, "2001:db8::7", "2001:db8::1");

void BM_EncodeV1(benchmark::State& state) {
  ip::tcp::endpoint s(ip::make_address("192.0.2.7"), 51234), d(ip::make_address("10.0.0.1"), 993);
  std::array<uint8_t, kMaxEncoded> out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(encode_proxy_header(ProxyVersion::V1, s, d, out));
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_EncodeV1);

void BM_Parse(benchmark::State& state, ProxyVersion v) {
  ip::tcp::endpoint s(ip::make_address("192.0.2.7"), 51234), d(ip::make_address("10.0.0.1"), 993);
  std::string h = encode_proxy_header(v, s, d);
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(h.data()), h.size());
  for (auto _ : state) benchmark::DoNotOptimize(parse_proxy_header(bytes));
}
BENCHMARK_CAPTURE(BM_Parse, v1, ProxyVersion::V1);
BENCHMARK_CAPTURE(BM_Parse, v2, ProxyVersion::V2);

}  // namespace
