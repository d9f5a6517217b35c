#include "proxy/http/message_head.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>

namespace proxy::http {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

constexpr size_t kMax = 64 * 1024;

// The heads are large (kMaxFields fields): keep them off the stack. The parsed bytes are kept
// alongside, since the head's views point into them.
template <class Head>
struct Parsed {
  HeadStatus status = HeadStatus::Bad;
  std::unique_ptr<std::string> data;
  std::unique_ptr<Head> head = std::make_unique<Head>();
};

Parsed<RequestHead> req(std::string_view data, size_t max_size = kMax) {
  Parsed<RequestHead> p;
  p.data = std::make_unique<std::string>(data);
  p.status = parse_request_head(*p.data, max_size, *p.head);
  return p;
}

HeadStatus req_status(std::string_view data, size_t max_size = kMax) {
  return req(data, max_size).status;
}

Parsed<ResponseHead> resp(std::string_view data, size_t max_size = kMax) {
  Parsed<ResponseHead> p;
  p.data = std::make_unique<std::string>(data);
  p.status = parse_response_head(*p.data, max_size, *p.head);
  return p;
}

HeadStatus resp_status(std::string_view data, size_t max_size = kMax) {
  return resp(data, max_size).status;
}

// A request head with the given field lines (each without CRLF).
std::string request_with(std::initializer_list<std::string_view> lines) {
  std::string s = "POST /upload HTTP/1.1\r\nHost: a.example\r\n";
  for (std::string_view l : lines) {
    s += l;
    s += "\r\n";
  }
  s += "\r\n";
  return s;
}

std::string response_with(std::initializer_list<std::string_view> lines) {
  std::string s = "HTTP/1.1 200 OK\r\n";
  for (std::string_view l : lines) {
    s += l;
    s += "\r\n";
  }
  s += "\r\n";
  return s;
}

const std::string kBrowserRequest =
    "GET /index.php/apps/files/?dir=/Photos&fileid=4242 HTTP/1.1\r\n"
    "Host: cloud.example.coop\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: fr-BE,fr;q=0.8,en-US;q=0.5,en;q=0.3\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: oc_sessionPassphrase=abc%2Fdef; nc_sameSiteCookielax=true\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-Site: none\r\n"
    "Priority: u=0, i\r\n"
    "\r\n";

const std::string kNginxResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Tue, 04 Jun 2024 10:12:45 GMT\r\n"
    "Content-Type: text/html; charset=UTF-8\r\n"
    "Content-Length: 5123\r\n"
    "Connection: keep-alive\r\n"
    "Cache-Control: no-cache, no-store, must-revalidate\r\n"
    "\r\n";

// --- request line ---------------------------------------------------------------------------

TEST(RequestHead, ParsesBrowserRequest) {
  const std::string data = kBrowserRequest + "body bytes";
  auto p = req(data);
  ASSERT_EQ(p.status, HeadStatus::Complete);
  const RequestHead& h = *p.head;
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/index.php/apps/files/?dir=/Photos&fileid=4242");
  EXPECT_EQ(h.version, 11u);
  EXPECT_EQ(h.size, kBrowserRequest.size());
  EXPECT_EQ(h.nfields, 12);
  EXPECT_EQ(h.host, "cloud.example.coop");
  EXPECT_EQ(h.host_count, 1u);
  EXPECT_EQ(h.fields[0].name, "Host");
  EXPECT_EQ(h.fields[11].name, "Priority");
  EXPECT_EQ(h.fields[11].value, "u=0, i");
  EXPECT_EQ(h.get("accept-encoding"), "gzip, deflate, br, zstd");
  EXPECT_EQ(h.get("USER-AGENT").substr(0, 11), "Mozilla/5.0");
  EXPECT_EQ(h.get("X-Missing"), "");
  EXPECT_TRUE(h.connection_keep_alive);
  EXPECT_FALSE(h.connection_close);
  EXPECT_TRUE(h.keep_alive());
  EXPECT_FALSE(h.content_length);
  EXPECT_FALSE(h.chunked);
  EXPECT_FALSE(h.has_transfer_encoding);
  EXPECT_FALSE(h.expect_continue);
  // Views point into the buffer.
  const std::string& buf = *p.data;
  EXPECT_EQ(h.method.data(), buf.data());
  EXPECT_GE(h.fields[3].value.data(), buf.data());
  EXPECT_LT(h.fields[3].value.data(), buf.data() + h.size);
}

TEST(RequestHead, Http10) {
  auto p = req("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->version, 10u);
  EXPECT_EQ(p.head->nfields, 0);
  EXPECT_EQ(p.head->size, 18u);
  EXPECT_FALSE(p.head->keep_alive());
}

TEST(RequestHead, MethodsAndTargets) {
  auto p = req("CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->method, "CONNECT");
  EXPECT_EQ(p.head->target, "db.example:5432");
  p = req("OPTIONS * HTTP/1.1\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->target, "*");
  p = req("PROPFIND http://cloud.example/remote.php/dav/~x?a=[1]&b=%20 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->method, "PROPFIND");
  EXPECT_EQ(p.head->target, "http://cloud.example/remote.php/dav/~x?a=[1]&b=%20");
  EXPECT_EQ(req_status("M-SEARCH! / HTTP/1.1\r\n\r\n"), HeadStatus::Complete);
}

TEST(RequestHead, LeadingEmptyLineSkippedOnce) {
  auto p = req("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->method, "GET");
  EXPECT_EQ(p.head->size, 29u);  // the skipped line counts
  EXPECT_EQ(req_status("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("\r\n\r\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("\nGET / HTTP/1.1\r\n\r\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("\r"), HeadStatus::Incomplete);
  EXPECT_EQ(req_status("\r\n"), HeadStatus::Incomplete);
  // Not for responses.
  EXPECT_EQ(resp_status("\r\nHTTP/1.1 200 OK\r\n\r\n"), HeadStatus::Bad);
}

TEST(RequestHead, MalformedRequestLines) {
  for (std::string_view line : {
           "GET /  HTTP/1.1"sv,         // two spaces
           "GET  / HTTP/1.1"sv,         // two spaces
           "GET\t/ HTTP/1.1"sv,         // HTAB separator
           "GET /\tHTTP/1.1"sv,         //
           " GET / HTTP/1.1"sv,         // leading space
           "GET / HTTP/1.1 "sv,         // trailing space
           "GET /"sv,                   // HTTP/0.9 style
           "GET / "sv,                  //
           "GET"sv,                     //
           "/ HTTP/1.1"sv,              //
           " / HTTP/1.1"sv,             // empty method
           "GE(T / HTTP/1.1"sv,         // non-token method
           "GET /a b HTTP/1.1"sv,       // space in target
           "GET /a\x7f HTTP/1.1"sv,     // DEL in target
           "GET /\xc3\xa9 HTTP/1.1"sv,  // non-ASCII in target
           "GET / http/1.1"sv,          // version case
           "GET / HTTP/1.10"sv,         //
           "GET / HTTP/11"sv,           //
           "GET / HTTP/1."sv,           //
           "GET / HTTP/1.x"sv,          //
           "GET / HTTPS/1.1"sv,         //
           "GET / HTTP/1.1x"sv,         //
       }) {
    const std::string head = std::string(line) + "\r\nHost: x\r\n\r\n";
    EXPECT_EQ(req_status(head), HeadStatus::Bad) << line;
  }
}

TEST(RequestHead, NulInRequestLine) {
  EXPECT_EQ(req_status("GET /\0 HTTP/1.1\r\n\r\n"s), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET\0/ HTTP/1.1\r\n\r\n"s), HeadStatus::Bad);
}

TEST(RequestHead, UnsupportedVersions) {
  for (std::string_view v :
       {"HTTP/2.0"sv, "HTTP/0.9"sv, "HTTP/1.2"sv, "HTTP/1.9"sv, "HTTP/3.0"sv, "HTTP/9.9"sv}) {
    const std::string head = "GET / " + std::string(v) + "\r\nHost: x\r\n\r\n";
    EXPECT_EQ(req_status(head), HeadStatus::BadVersion) << v;
  }
  // Known as soon as the request line is complete.
  EXPECT_EQ(req_status("GET / HTTP/2.0\r\nHost: x\r\n"), HeadStatus::BadVersion);
}

// --- status line ----------------------------------------------------------------------------

TEST(ResponseHead, ParsesNginxResponse) {
  auto p = resp(kNginxResponse + "<html>");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  const ResponseHead& h = *p.head;
  EXPECT_EQ(h.status, 200u);
  EXPECT_EQ(h.reason, "OK");
  EXPECT_EQ(h.version, 11u);
  EXPECT_EQ(h.size, kNginxResponse.size());
  EXPECT_EQ(h.nfields, 6);
  ASSERT_TRUE(h.content_length);
  EXPECT_EQ(*h.content_length, 5123u);
  EXPECT_TRUE(h.keep_alive());
  EXPECT_EQ(h.get("server"), "nginx/1.22.1");
}

TEST(ResponseHead, StatusLineVariants) {
  auto p = resp("HTTP/1.1 204 \r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->status, 204u);
  EXPECT_EQ(p.head->reason, "");
  p = resp("HTTP/1.1 200\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->status, 200u);
  EXPECT_EQ(p.head->reason, "");
  p = resp("HTTP/1.0 404 Not \tFound \xe9t\xe9\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->version, 10u);
  EXPECT_EQ(p.head->status, 404u);
  EXPECT_EQ(p.head->reason, "Not \tFound \xe9t\xe9");
  p = resp("HTTP/1.1 999 Whatever\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->status, 999u);
  p = resp("HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->status, 100u);
}

TEST(ResponseHead, MalformedStatusLines) {
  for (std::string_view line : {
           "HTTP/1.1 20 OK"sv,       //
           "HTTP/1.1 2000 OK"sv,     //
           "HTTP/1.1 099 Low"sv,     //
           "HTTP/1.1 abc OK"sv,      //
           "HTTP/1.1  200 OK"sv,     //
           "HTTP/1.1\t200 OK"sv,     //
           "HTTP/1.1 200\tOK"sv,     //
           "HTTP/1.1 200 O\x01K"sv,  // CTL in reason
           "HTTP/1.1 200 O\x7fK"sv,  //
           "HTTP/1.1"sv,             //
           "HTTP/1.1 "sv,            //
           "http/1.1 200 OK"sv,      //
           "HTTP/1.1200 OK"sv,       //
           "ICY 200 OK"sv,           //
       }) {
    const std::string head = std::string(line) + "\r\nServer: x\r\n\r\n";
    EXPECT_EQ(resp_status(head), HeadStatus::Bad) << line;
  }
  EXPECT_EQ(resp_status("HTTP/1.1 200 O\0K\r\n\r\n"s), HeadStatus::Bad);
  EXPECT_EQ(resp_status("HTTP/2.0 200 OK\r\n\r\n"), HeadStatus::BadVersion);
  EXPECT_EQ(resp_status("HTTP/1.2 200 OK\r\n\r\n"), HeadStatus::BadVersion);
  EXPECT_EQ(resp_status("HTTP/2 200 OK\r\n\r\n"), HeadStatus::Bad);
}

// --- line endings ---------------------------------------------------------------------------

TEST(MessageHead, BareLfAndBareCrAreBad) {
  EXPECT_EQ(req_status("GET / HTTP/1.1\nHost: x\r\n\r\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET / HTTP/1.1\r\nHost: x\n\r\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET / HTTP/1.1\r\nHost: x\r\n\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET / HTTP/1.1\n\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET / HTTP/1.1\r\nHost: a\nb\r\n\r\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET / HTTP/1.1\r\nHost: x\r\r\n\r\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET / HTTP/1.1\r\r\nHost: x\r\n\r\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET / HTTP/1.1\r\nHost: x\r\n\r\r\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET / HTTP/1.1\r\nX\r: y\r\n\r\n"), HeadStatus::Bad);
  EXPECT_EQ(resp_status("HTTP/1.1 200 OK\nServer: x\r\n\r\n"), HeadStatus::Bad);
  EXPECT_EQ(resp_status("HTTP/1.1 200 O\rK\r\n\r\n"), HeadStatus::Bad);
  // Found without waiting for the end of the head.
  EXPECT_EQ(req_status("GET / HTTP/1.1\r\nHost: x\nAccept: */*\r\n"), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET / HTTP/1.1\r\nHost: x\r\r"), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET / HTTP/1.1\r\nHost: x\rA"), HeadStatus::Bad);
}

TEST(MessageHead, EarlyBadOnJunkStartLine) {
  // A TLS ClientHello sent to a plain-text port.
  EXPECT_EQ(req_status("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"sv), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET\x01"), HeadStatus::Bad);
  EXPECT_EQ(req_status(" GET"), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET"), HeadStatus::Incomplete);
  EXPECT_EQ(req_status("GET /x"), HeadStatus::Incomplete);
  EXPECT_EQ(req_status("GET /x HTTP/1.1\r\nHo"), HeadStatus::Incomplete);
  EXPECT_EQ(req_status("GET /x HTTP/1.1 \r\nHo"), HeadStatus::Bad);
  EXPECT_EQ(resp_status("HTTX"), HeadStatus::Bad);
  EXPECT_EQ(resp_status("HTT"), HeadStatus::Incomplete);
  EXPECT_EQ(resp_status("HTTP/1.1 200 OK\r\nServ"), HeadStatus::Incomplete);
  EXPECT_EQ(resp_status("HTTP/1.1 20 OK\r\nServ"), HeadStatus::Bad);
}

// --- fields ---------------------------------------------------------------------------------

TEST(MessageHead, FieldValuesTrimmed) {
  auto p = req(request_with(
      {"A:x", "B:  \t spaced \t ", "C:", "D:   ", "E: in  side\tok", "F: caf\xc3\xa9 \x80\xff"}));
  ASSERT_EQ(p.status, HeadStatus::Complete);
  const RequestHead& h = *p.head;
  ASSERT_EQ(h.nfields, 7);
  EXPECT_EQ(h.get("a"), "x");
  EXPECT_EQ(h.get("b"), "spaced");
  EXPECT_EQ(h.get("c"), "");
  EXPECT_EQ(h.get("d"), "");
  EXPECT_EQ(h.get("e"), "in  side\tok");
  EXPECT_EQ(h.get("f"), "caf\xc3\xa9 \x80\xff");
  EXPECT_EQ(h.fields[2].name, "B");
  EXPECT_EQ(h.fields[3].value.data(), h.fields[3].name.data() + 2);  // empty views in place
}

TEST(MessageHead, FieldNameRules) {
  EXPECT_EQ(req_status(request_with({"X-Token!#$%&'*+-.^_`|~09az: v"})), HeadStatus::Complete);
  for (std::string_view line : {
           ": empty name"sv,  //
           "X-A : space"sv,   // whitespace before colon
           "X-A\t: tab"sv,    //
           "X A: space"sv,    //
           "X(A): paren"sv,   //
           "X\"A: quote"sv,   //
           "X/A: slash"sv,    //
           "NoColon"sv,       //
           "\xc3\xa9t\xc3\xa9: non-ascii name"sv,
       }) {
    EXPECT_EQ(req_status(request_with({line})), HeadStatus::Bad) << line;
  }
}

TEST(MessageHead, ControlCharactersInValues) {
  EXPECT_EQ(req_status(request_with({"A: x\ty"})), HeadStatus::Complete);
  for (char c = 0; c < 0x20; ++c) {
    if (c == '\t') continue;
    std::string line = "A: x";
    line += c;
    line += "y";
    EXPECT_EQ(req_status(request_with({line})), HeadStatus::Bad) << int(c);
  }
  EXPECT_EQ(req_status(request_with({"A: x\x7fy"})), HeadStatus::Bad);
  // Past the word-at-a-time fast path, at each offset.
  for (size_t at = 0; at < 40; ++at) {
    std::string value(40, 'v');
    value[at] = '\x01';
    EXPECT_EQ(req_status(request_with({"A: " + value})), HeadStatus::Bad) << at;
    value[at] = '\x7f';
    EXPECT_EQ(req_status(request_with({"A: " + value})), HeadStatus::Bad) << at;
    value[at] = '\t';
    EXPECT_EQ(req_status(request_with({"A: " + value})), HeadStatus::Complete) << at;
    value[at] = '\x80';
    EXPECT_EQ(req_status(request_with({"A: " + value})), HeadStatus::Complete) << at;
  }
  for (size_t at = 1; at < 40; ++at) {
    std::string target = "/" + std::string(40, 't');
    target[at] = '\x7f';
    EXPECT_EQ(req_status("GET " + target + " HTTP/1.1\r\n\r\n"), HeadStatus::Bad) << at;
    target[at] = '\x90';
    EXPECT_EQ(req_status("GET " + target + " HTTP/1.1\r\n\r\n"), HeadStatus::Bad) << at;
    target[at] = '~';
    EXPECT_EQ(req_status("GET " + target + " HTTP/1.1\r\n\r\n"), HeadStatus::Complete) << at;
  }
}

TEST(MessageHead, NulByteInField) {
  EXPECT_EQ(req_status(request_with({"A: x\0y"s})), HeadStatus::Bad);
  EXPECT_EQ(req_status(request_with({"A\0: y"s})), HeadStatus::Bad);
  EXPECT_EQ(req_status(request_with({"Content-Length: 5\0"s})), HeadStatus::Bad);
}

TEST(MessageHead, ObsFoldIsBad) {
  EXPECT_EQ(req_status(request_with({"A: x", " continued"})), HeadStatus::Bad);
  EXPECT_EQ(req_status(request_with({"A: x", "\tcontinued"})), HeadStatus::Bad);
  EXPECT_EQ(req_status("GET / HTTP/1.1\r\n Host: x\r\n\r\n"), HeadStatus::Bad);
  EXPECT_EQ(resp_status(response_with({"A: x", " continued"})), HeadStatus::Bad);
}

TEST(MessageHead, HundredFieldsOkHundredAndOneTooLarge) {
  std::string head = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 100; ++i) head += "X-" + std::to_string(i) + ": v\r\n";
  auto p = req(head + "\r\n");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->nfields, 100);
  EXPECT_EQ(p.head->fields[99].name, "X-99");
  EXPECT_EQ(req_status(head + "X-100: v\r\n\r\n"), HeadStatus::TooLarge);
  // Known before the head ends.
  EXPECT_EQ(req_status(head + "X-100: v\r\nX-101: v"), HeadStatus::TooLarge);

  std::string rhead = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 100; ++i) rhead += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(resp_status(rhead + "\r\n"), HeadStatus::Complete);
  EXPECT_EQ(resp_status(rhead + "X-100: v\r\n\r\n"), HeadStatus::TooLarge);
}

TEST(MessageHead, MaxSizeBoundaries) {
  const std::string head = kBrowserRequest;
  const size_t n = head.size();
  EXPECT_EQ(req_status(head, n), HeadStatus::Complete);
  EXPECT_EQ(req_status(head + "trailing body", n), HeadStatus::Complete);
  EXPECT_EQ(req_status(head, n - 1), HeadStatus::TooLarge);
  EXPECT_EQ(req_status(head, n - 2), HeadStatus::TooLarge);
  EXPECT_EQ(req_status(head, 0), HeadStatus::TooLarge);
  // An incomplete head is TooLarge as soon as it passes max_size, not before.
  const std::string partial = head.substr(0, 200);
  EXPECT_EQ(req_status(partial, 200), HeadStatus::Incomplete);
  EXPECT_EQ(req_status(partial, 199), HeadStatus::TooLarge);
  EXPECT_EQ(req_status(std::string(5000, 'A'), 4096), HeadStatus::TooLarge);
  EXPECT_EQ(req_status(std::string(4096, 'A'), 4096), HeadStatus::Incomplete);
  // With a skipped leading line, which counts.
  const std::string lead = "\r\n" + head;
  EXPECT_EQ(req_status(lead, n + 2), HeadStatus::Complete);
  EXPECT_EQ(req_status(lead, n + 1), HeadStatus::TooLarge);
  EXPECT_EQ(resp_status(kNginxResponse, kNginxResponse.size()), HeadStatus::Complete);
  EXPECT_EQ(resp_status(kNginxResponse, kNginxResponse.size() - 1), HeadStatus::TooLarge);
  // A bad head stays bad even past the limit.
  EXPECT_EQ(req_status("GET / HTTP/1.1\nHost: x\r\n\r\n", 10), HeadStatus::TooLarge);
  EXPECT_EQ(req_status("GET / HTTP/1.1\nHost: x\r\n\r\n", 20), HeadStatus::Bad);
}

TEST(MessageHead, IncompleteAtEverySplitPoint) {
  for (const std::string& head : {kBrowserRequest, "\r\n" + kBrowserRequest,
                                  request_with({"Content-Length: 12", "Expect: 100-continue"}),
                                  request_with({"Transfer-Encoding: gzip, chunked"})}) {
    for (size_t k = 0; k < head.size(); ++k)
      ASSERT_EQ(req_status(std::string_view(head).substr(0, k)), HeadStatus::Incomplete) << k;
    auto p = req(head);
    ASSERT_EQ(p.status, HeadStatus::Complete);
    EXPECT_EQ(p.head->size, head.size());
  }
  for (const std::string& head : {kNginxResponse, std::string("HTTP/1.1 200\r\n\r\n")}) {
    for (size_t k = 0; k < head.size(); ++k)
      ASSERT_EQ(resp_status(std::string_view(head).substr(0, k)), HeadStatus::Incomplete) << k;
    EXPECT_EQ(resp_status(head), HeadStatus::Complete);
  }
}

TEST(MessageHead, PrefixesOfValidHeadsNeverFail) {
  // Random valid heads, every prefix: Incomplete (never Bad), then Complete with the same size.
  std::mt19937 rng(20240604);
  const std::string name_chars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!#$%&'*+.^`|~";
  for (int round = 0; round < 200; ++round) {
    std::string head = round % 3 == 0 ? "\r\n" : "";
    head += "GET /p" + std::to_string(round) + " HTTP/1.1\r\n";
    const int nfields = static_cast<int>(rng() % 20);
    for (int i = 0; i < nfields; ++i) {
      std::string name;
      for (size_t j = 0, n = 1 + rng() % 12; j < n; ++j)
        name += name_chars[rng() % name_chars.size()];
      std::string value;
      for (size_t j = 0, n = rng() % 60; j < n; ++j) {
        const unsigned r = rng() % 100;
        value += r < 5    ? '\t'
                 : r < 10 ? static_cast<char>(0x80 + rng() % 128)
                          : static_cast<char>(0x20 + rng() % 95);
      }
      head += name + ":" + std::string(rng() % 3, ' ') + value + "\r\n";
    }
    head += "\r\n";
    for (size_t k = 0; k < head.size(); ++k)
      ASSERT_EQ(req_status(std::string_view(head).substr(0, k)), HeadStatus::Incomplete)
          << round << " " << k;
    auto p = req(head + "GET / HTTP/1.1\r\n\r\n");
    ASSERT_EQ(p.status, HeadStatus::Complete) << round;
    EXPECT_EQ(p.head->size, head.size());
    EXPECT_EQ(p.head->nfields, nfields);
  }
}

// --- Content-Length ---------------------------------------------------------------------------

TEST(ContentLength, Valid) {
  auto p = req(request_with({"Content-Length: 42"}));
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->content_length, 42u);
  p = req(request_with({"content-length:0"}));
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->content_length, 0u);
  p = req(request_with({"Content-Length: 42, 42,42"}));
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->content_length, 42u);
  p = req(request_with({"Content-Length: 7", "CONTENT-LENGTH: 7"}));
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->content_length, 7u);
  p = req(request_with({"Content-Length: 9223372036854775807"}));
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->content_length, 9223372036854775807u);
  p = req(request_with({"Content-Length: 000000000000000000000000012"}));
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->content_length, 12u);
}

TEST(ContentLength, Invalid) {
  for (std::string_view value : {
           ""sv,                         //
           "+5"sv,                       //
           "-1"sv,                       //
           "0x10"sv,                     //
           "1e3"sv,                      //
           "5 5"sv,                      //
           "5,6"sv,                      //
           "5, 6"sv,                     //
           "5,,5"sv,                     //
           "5,"sv,                       //
           ",5"sv,                       //
           "05, 5"sv,                    // identical strings only
           "4.0"sv,                      //
           "five"sv,                     //
           "9223372036854775808"sv,      // 2^63
           "18446744073709551616"sv,     // 2^64
           "99999999999999999999999"sv,  //
           "\xd9\xa5"sv,                 // a non-ASCII digit
       }) {
    const std::string line = "Content-Length: " + std::string(value);
    EXPECT_EQ(req_status(request_with({line})), HeadStatus::Bad) << value;
    EXPECT_EQ(resp_status(response_with({line})), HeadStatus::Bad) << value;
  }
  EXPECT_EQ(req_status(request_with({"Content-Length: 5", "Content-Length: 6"})), HeadStatus::Bad);
  EXPECT_EQ(req_status(request_with({"Content-Length: 5", "Content-Length: 5, 6"})),
            HeadStatus::Bad);
  EXPECT_EQ(resp_status(response_with({"Content-Length: 5", "Content-Length: 50"})),
            HeadStatus::Bad);
}

// --- Transfer-Encoding ------------------------------------------------------------------------

TEST(TransferEncoding, RequestChunked) {
  auto p = req(request_with({"Transfer-Encoding: chunked"}));
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_TRUE(p.head->chunked);
  EXPECT_TRUE(p.head->has_transfer_encoding);
  EXPECT_FALSE(p.head->content_length);
  for (std::initializer_list<std::string_view> lines : {
           std::initializer_list<std::string_view>{"transfer-encoding: CHUNKED"},
           {"Transfer-Encoding: \t chunked \t"},
           {"Transfer-Encoding: gzip, chunked"},
           {"Transfer-Encoding: gzip,chunked"},
           {"Transfer-Encoding: gzip", "Transfer-Encoding: chunked"},
           {"Transfer-Encoding: , chunked,"},
       }) {
    auto q = req(request_with(lines));
    ASSERT_EQ(q.status, HeadStatus::Complete) << *lines.begin();
    EXPECT_TRUE(q.head->chunked);
    // gzip before chunked is parsed, and flagged for a 501.
    EXPECT_EQ(q.head->other_coding, lines.begin()->find("gzip") != std::string_view::npos);
  }
  EXPECT_FALSE(p.head->other_coding);
}

TEST(TransferEncoding, RequestRejections) {
  for (std::initializer_list<std::string_view> lines : {
           std::initializer_list<std::string_view>{"Transfer-Encoding: gzip"},
           {"Transfer-Encoding: chunked, gzip"},
           {"Transfer-Encoding: chunked, identity"},
           {"Transfer-Encoding: chunked", "Transfer-Encoding: identity"},
           {"Transfer-Encoding: chunked, chunked"},
           {"Transfer-Encoding: chunked", "Transfer-Encoding: chunked"},
           {"Transfer-Encoding: xchunked"},
           {"Transfer-Encoding: chunkedx"},
           {"Transfer-Encoding: chunked;q=1"},
           {"Transfer-Encoding: \"chunked\""},
           {"Transfer-Encoding: chu nked"},
           {"Transfer-Encoding: \x0b"
            "chunked"},
           {"Transfer-Encoding: chunked\x0c"},
           {"Transfer-Encoding:"},
           {"Transfer-Encoding: ,"},
           {"Transfer-Encoding: chunked", "Content-Length: 5"},
           {"Content-Length: 5", "Transfer-Encoding: chunked"},
           {"Content-Length: 0", "Transfer-Encoding: chunked"},
       }) {
    EXPECT_EQ(req_status(request_with(lines)), HeadStatus::Bad) << *lines.begin();
  }
  EXPECT_EQ(req_status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), HeadStatus::Bad);
}

TEST(TransferEncoding, Response) {
  auto p = resp(response_with({"Transfer-Encoding: chunked", "Content-Length: 10"}));
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_TRUE(p.head->chunked);
  EXPECT_TRUE(p.head->has_transfer_encoding);
  EXPECT_FALSE(p.head->content_length);  // chunked wins

  // A coding Passeur does not decode could not be passed on exactly.
  EXPECT_EQ(resp_status(response_with({"Content-Length: 10", "Transfer-Encoding: gzip"})),
            HeadStatus::Bad);
  EXPECT_EQ(resp_status(response_with({"Transfer-Encoding: chunked, gzip"})), HeadStatus::Bad);
  EXPECT_EQ(resp_status(response_with({"Transfer-Encoding: gzip, chunked"})), HeadStatus::Bad);

  EXPECT_EQ(resp_status(response_with({"Transfer-Encoding: chunked, chunked"})), HeadStatus::Bad);
  EXPECT_EQ(resp_status(response_with({"Transfer-Encoding: chunked;x"})), HeadStatus::Bad);
  EXPECT_EQ(resp_status(response_with({"Transfer-Encoding: chunked", "Content-Length: x"})),
            HeadStatus::Bad);
  EXPECT_EQ(resp_status("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), HeadStatus::Bad);
}

// --- request smuggling vectors ----------------------------------------------------------------

TEST(Smuggling, KnownVectorsRejected) {
  const std::string_view cases[] = {
      // CL.TE / TE.CL
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
      // TE obfuscation
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\n Transfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer_Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\nContent-Length: 3\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0b"
      "chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: cow\r\n\r\n",
      "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
      // CL disagreements and non-digits
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 5\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551621\r\n\r\n",
      // bytes that other parsers treat as separators or terminators
      "POST / HTTP/1.1\r\nHost: x\r\nX: y\0Content-Length: 5\r\n\r\n"sv,
      "POST / HTTP/1.1\r\nHost: x\r\nX: y\rContent-Length: 5\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\n\nContent-Length: 5\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\n\rGET /admin HTTP/1.1\r\n\r\n",
  };
  for (std::string_view c : cases) EXPECT_EQ(req_status(c), HeadStatus::Bad) << c;
}

// --- Connection, Upgrade, Host, Expect ----------------------------------------------------------

TEST(Connection, TokensAcrossFields) {
  auto p = req(request_with({"Connection: keep-alive, X-Secret", "connection: Upgrade",
                             "Upgrade: websocket", "Upgrade: h2c"}));
  ASSERT_EQ(p.status, HeadStatus::Complete);
  const RequestHead& h = *p.head;
  EXPECT_TRUE(h.connection_keep_alive);
  EXPECT_TRUE(h.connection_upgrade);
  EXPECT_FALSE(h.connection_close);
  EXPECT_EQ(h.upgrade, "websocket");
  EXPECT_TRUE(h.connection_names("x-secret"));
  EXPECT_TRUE(h.connection_names("X-SECRET"));
  EXPECT_TRUE(h.connection_names("upgrade"));
  EXPECT_FALSE(h.connection_names("x-secre"));
  EXPECT_FALSE(h.connection_names("host"));
  EXPECT_FALSE(h.connection_names(""));
}

TEST(Connection, KeepAliveRules) {
  auto p = req("GET / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(p.head->keep_alive());
  p = req("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n");
  EXPECT_TRUE(p.head->connection_close);
  EXPECT_FALSE(p.head->keep_alive());
  p = req("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n");
  EXPECT_FALSE(p.head->keep_alive());
  p = req("GET / HTTP/1.0\r\n\r\n");
  EXPECT_FALSE(p.head->keep_alive());
  p = req("GET / HTTP/1.0\r\nConnection:  Keep-Alive \r\n\r\n");
  EXPECT_TRUE(p.head->connection_keep_alive);
  EXPECT_TRUE(p.head->keep_alive());
  p = req("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(p.head->keep_alive());
  p = req("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n");
  EXPECT_FALSE(p.head->connection_close);
  EXPECT_TRUE(p.head->keep_alive());
  auto r = resp("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_EQ(r.status, HeadStatus::Complete);
  EXPECT_TRUE(r.head->keep_alive());
  r = resp("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(r.head->keep_alive());
}

TEST(RequestFields, HostAndExpect) {
  auto p =
      req("PUT /f HTTP/1.1\r\nHOST: a.example\r\nHost: b.example\r\n"
          "Expect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
  ASSERT_EQ(p.status, HeadStatus::Complete);
  EXPECT_EQ(p.head->host, "a.example");
  EXPECT_EQ(p.head->host_count, 2u);
  EXPECT_TRUE(p.head->expect_continue);
  p = req("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(p.head->host, "");
  EXPECT_EQ(p.head->host_count, 0u);
  EXPECT_FALSE(p.head->expect_continue);
  p = req("GET / HTTP/1.1\r\nHost:\r\nExpect: 100-continue-ish\r\n\r\n");
  EXPECT_EQ(p.head->host_count, 1u);
  EXPECT_EQ(p.head->host, "");
  EXPECT_FALSE(p.head->expect_continue);
}

TEST(MessageHead, ReusedHeadIsReset) {
  auto p = std::make_unique<RequestHead>();
  const std::string first =
      "POST /a HTTP/1.0\r\nHost: h\r\nContent-Length: 5\r\n"
      "Connection: keep-alive, upgrade\r\nUpgrade: x\r\n"
      "Expect: 100-continue\r\n\r\n";
  ASSERT_EQ(parse_request_head(first, kMax, *p), HeadStatus::Complete);
  ASSERT_EQ(parse_request_head("GET /b HTTP/1.1\r\n\r\n", kMax, *p), HeadStatus::Complete);
  EXPECT_EQ(p->version, 11u);
  EXPECT_EQ(p->nfields, 0);
  EXPECT_FALSE(p->content_length);
  EXPECT_FALSE(p->connection_keep_alive);
  EXPECT_FALSE(p->connection_upgrade);
  EXPECT_EQ(p->upgrade, "");
  EXPECT_EQ(p->host, "");
  EXPECT_EQ(p->host_count, 0u);
  EXPECT_FALSE(p->expect_continue);
  EXPECT_EQ(p->get("host"), "");
}

TEST(Iequals, Basics) {
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("a", "ab"));
  EXPECT_FALSE(iequals("[", "{"));  // 0x5B vs 0x7B: not letters
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_TRUE(iequals("\xc9", "\xc9"));
  EXPECT_FALSE(iequals("\xc9", "\xe9"));  // no Latin-1 folding
}

}  // namespace
}  // namespace proxy::http
