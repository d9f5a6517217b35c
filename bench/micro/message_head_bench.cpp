// HTTP/1.1 head parsing and chunked decoding, with Boost.Beast's parser as the baseline.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "proxy/http/chunked_decoder.h"
#include "proxy/http/message_head.h"

namespace {

using namespace proxy::http;

// A browser loading a cloud page: 12 fields, about 500 bytes.
const std::string kRequest =
    "GET /index.php/apps/files/?dir=/Photos/2024&fileid=4242 HTTP/1.1\r\n"
    "Host: cloud.example.coop\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: fr-BE,fr;q=0.8,en-US;q=0.5,en;q=0.3\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: oc_sessionPassphrase=Zm9vYmFy%2Fbaz; nc_sameSiteCookielax=true; "
    "nc_sameSiteCookiestrict=true\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Priority: u=0, i\r\n"
    "\r\n";

// What nginx sends in front of a static file.
const std::string kResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Tue, 04 Jun 2024 10:12:45 GMT\r\n"
    "Content-Type: text/css\r\n"
    "Content-Length: 48213\r\n"
    "Last-Modified: Mon, 03 Jun 2024 08:00:00 GMT\r\n"
    "Connection: keep-alive\r\n"
    "ETag: \"665d7880-bc55\"\r\n"
    "Cache-Control: max-age=15778463\r\n"
    "Accept-Ranges: bytes\r\n"
    "\r\n";

void BM_ParseRequestHead(benchmark::State& state) {
  auto head = std::make_unique<RequestHead>();
  for (auto _ : state) {
    HeadStatus st = parse_request_head(kRequest, 64 * 1024, *head);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(head->nfields);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRequest.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseRequestHead);

void BM_ParseResponseHead(benchmark::State& state) {
  auto head = std::make_unique<ResponseHead>();
  for (auto _ : state) {
    HeadStatus st = parse_response_head(kResponse, 64 * 1024, *head);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(head->content_length);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kResponse.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseResponseHead);

// The request head arriving in two reads: one Incomplete call, then the full parse.
void BM_ParseRequestHeadTwoReads(benchmark::State& state) {
  auto head = std::make_unique<RequestHead>();
  const std::string_view first = std::string_view(kRequest).substr(0, kRequest.size() / 2);
  for (auto _ : state) {
    HeadStatus a = parse_request_head(first, 64 * 1024, *head);
    HeadStatus b = parse_request_head(kRequest, 64 * 1024, *head);
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseRequestHeadTwoReads);

// Baseline: Beast's parser, headers only, a fresh parser per message as a session uses it.
template <bool kIsRequest>
void beast_parse(benchmark::State& state, const std::string& text) {
  namespace bhttp = boost::beast::http;
  for (auto _ : state) {
    bhttp::parser<kIsRequest, bhttp::empty_body> parser;
    parser.header_limit(64 * 1024);
    parser.eager(false);
    boost::beast::error_code ec;
    const size_t used = parser.put(boost::asio::buffer(text), ec);
    benchmark::DoNotOptimize(used);
    if (ec || !parser.is_header_done()) state.SkipWithError("beast failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(state.iterations());
}
void BM_BeastRequestHead(benchmark::State& state) {
  beast_parse<true>(state, kRequest);
}
void BM_BeastResponseHead(benchmark::State& state) {
  beast_parse<false>(state, kResponse);
}
BENCHMARK(BM_BeastRequestHead);
BENCHMARK(BM_BeastResponseHead);

// 64 KiB of data in 4 KiB chunks, fed whole (range 0) or in 16 KiB reads (range 1).
void BM_ChunkedDecode64K(benchmark::State& state) {
  std::string body;
  const std::string chunk(4096, 'x');
  for (int i = 0; i < 16; ++i) body += "1000\r\n" + chunk + "\r\n";
  body += "0\r\n\r\n";
  const size_t read_size = state.range(0) == 0 ? body.size() : 16 * 1024;
  for (auto _ : state) {
    ChunkedDecoder dec;
    uint64_t sum = 0;
    size_t pos = 0;
    while (pos < body.size() && !dec.done()) {
      const std::string_view in = std::string_view(body).substr(pos, read_size);
      size_t used = 0;
      if (dec.feed(in, used, [&](std::string_view d) { sum += d.size(); }) !=
          ChunkedDecoder::Status::Ok) {
        state.SkipWithError("decode failed");
        break;
      }
      pos += used;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ChunkedDecode64K)->Arg(0)->Arg(1);

}  // namespace
