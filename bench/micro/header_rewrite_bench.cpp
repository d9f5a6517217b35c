// Header rewrite: the request head sent to a node and the response head sent to the client,
// from heads parsed once (the parse itself is in message_head_bench.cpp).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "proxy/http/header_rewrite.h"
#include "proxy/http/message_head.h"

namespace {

using namespace proxy::http;

// A browser loading a cloud page through a CDN-less edge: 12 fields, about 500 bytes.
const std::string kBrowserRequest =
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

// A WebDAV upload from the desktop client behind another proxy: forwarding headers to merge or
// replace, hop-by-hop fields to drop (one named by Connection), Expect answered by Passeur.
const std::string kProxiedUpload =
    "PUT /remote.php/dav/files/alice/Documents/report.odt HTTP/1.1\r\n"
    "Host: cloud.example.coop\r\n"
    "User-Agent: Mozilla/5.0 (Linux) mirall/3.7.4 (Nextcloud, debian-6.1.0 ClientArchitecture: "
    "x86_64 OsArchitecture: x86_64)\r\n"
    "Authorization: Basic YWxpY2U6c2VjcmV0LWFwcC1wYXNzd29yZA==\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Length: 1048576\r\n"
    "Expect: 100-continue\r\n"
    "Connection: keep-alive, X-Client-Hop\r\n"
    "Keep-Alive: timeout=30\r\n"
    "X-Client-Hop: 1\r\n"
    "TE: trailers\r\n"
    "X-Forwarded-For: 198.51.100.23, 203.0.113.7\r\n"
    "X-Forwarded-Proto: https\r\n"
    "X-Forwarded-Host: cloud.example.coop\r\n"
    "OC-Checksum: SHA1:8843d7f92416211de9ebb963ff4ce28125932878\r\n"
    "X-OC-Mtime: 1717495965\r\n"
    "\r\n";

// What nginx (in front of PHP-FPM) answers for a page.
const std::string kResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Tue, 04 Jun 2024 10:12:45 GMT\r\n"
    "Content-Type: text/html; charset=UTF-8\r\n"
    "Content-Length: 48213\r\n"
    "Connection: keep-alive\r\n"
    "Keep-Alive: timeout=60\r\n"
    "Cache-Control: no-cache, no-store, must-revalidate\r\n"
    "Content-Security-Policy: default-src 'self'; script-src 'self' 'nonce-YWJjZGVm'\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: SAMEORIGIN\r\n"
    "Set-Cookie: oc_sessionPassphrase=Zm9vYmFy%2Fbaz; path=/; secure; HttpOnly; SameSite=Lax\r\n"
    "\r\n";

std::unique_ptr<RequestHead> parsed_request(const std::string& text) {
  auto head = std::make_unique<RequestHead>();
  if (parse_request_head(text, 64 * 1024, *head) != HeadStatus::Complete) std::abort();
  return head;
}

// range(0): 1 when Forwarded and Via are on (listener options, off by default).
void request_loop(benchmark::State& state, const std::string& text) {
  auto head = parsed_request(text);
  const bool extras = state.range(0) != 0;
  const RequestRewrite rw{.target = head->target,
                          .client_ip = "192.0.2.44",
                          .proto = "https",
                          .host = head->host,
                          .forwarded = extras,
                          .via = extras,
                          .content_length = head->content_length};
  std::string out;
  for (auto _ : state) {
    out.clear();  // the session reuses its buffer from request to request
    build_request_head(*head, rw, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(state.iterations());
}

void BM_RewriteBrowserRequest(benchmark::State& state) {
  request_loop(state, kBrowserRequest);
}
BENCHMARK(BM_RewriteBrowserRequest)->ArgName("forwarded_via")->Arg(0)->Arg(1);

void BM_RewriteProxiedUpload(benchmark::State& state) {
  request_loop(state, kProxiedUpload);
}
BENCHMARK(BM_RewriteProxiedUpload)->ArgName("forwarded_via")->Arg(0)->Arg(1);

void BM_RewriteResponse(benchmark::State& state) {
  auto head = std::make_unique<ResponseHead>();
  if (parse_response_head(kResponse, 64 * 1024, *head) != HeadStatus::Complete) std::abort();
  const ResponseRewrite rw{.framing = Framing::Length,
                           .keep_alive = true,
                           .extra = "Strict-Transport-Security: max-age=63072000\r\n"};
  std::string out;
  for (auto _ : state) {
    out.clear();
    build_response_head(*head, rw, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kResponse.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RewriteResponse);

}  // namespace
