#include "proxy/http/header_rewrite.h"

#include <gtest/gtest.h>

#include "proxy/http/message_head.h"

namespace proxy::http {
namespace {

RequestHead parse_req(std::string_view text) {
  RequestHead h;
  EXPECT_EQ(parse_request_head(text, 65536, h), HeadStatus::Complete) << text;
  return h;
}

ResponseHead parse_res(std::string_view text) {
  ResponseHead h;
  EXPECT_EQ(parse_response_head(text, 65536, h), HeadStatus::Complete) << text;
  return h;
}

TEST(HeaderRewrite, RequestDropsHopByHopAndAddsForwardingHeaders) {
  std::string in =
      "GET /a?b HTTP/1.1\r\nHost: webmail.example.coop\r\nConnection: keep-alive, X-Secret\r\n"
      "Keep-Alive: timeout=5\r\nX-Secret: 1\r\nTE: trailers\r\nProxy-Connection: x\r\n"
      "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n"
      "Accept: */*\r\n\r\n";
  RequestHead req = parse_req(in);
  std::string out;
  build_request_head(
      req,
      RequestRewrite{
          .target = req.target, .client_ip = "127.0.0.1", .proto = "http", .host = req.host},
      out);
  EXPECT_EQ(out,
            "GET /a?b HTTP/1.1\r\nHost: webmail.example.coop\r\nAccept: */*\r\n"
            "X-Forwarded-For: 192.0.2.1, 127.0.0.1\r\nX-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: webmail.example.coop\r\n\r\n");
}

TEST(HeaderRewrite, CountryHeaderReplacesTheClientsCopies) {
  RequestHead req =
      parse_req("GET / HTTP/1.1\r\nHost: a\r\nX-Country-Code: US\r\nx-country-code: FR\r\n\r\n");
  std::string out;
  build_request_head(req,
                     RequestRewrite{.target = "/",
                                    .client_ip = "192.0.2.1",
                                    .country_header = "X-Country-Code",
                                    .country = "DE",
                                    .proto = "http"},
                     out);
  EXPECT_EQ(out,
            "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1\r\n"
            "X-Forwarded-Proto: http\r\nX-Country-Code: DE\r\n\r\n");
  // Unknown country: the client's copies are removed all the same, none is sent.
  out.clear();
  build_request_head(req,
                     RequestRewrite{.target = "/",
                                    .client_ip = "192.0.2.1",
                                    .country_header = "X-Country-Code",
                                    .proto = "http"},
                     out);
  EXPECT_EQ(out.find("ountry"), std::string::npos) << out;
  // No [geoip]: the header is any other header.
  out.clear();
  build_request_head(req, RequestRewrite{.target = "/", .client_ip = "192.0.2.1", .proto = "http"},
                     out);
  EXPECT_NE(out.find("X-Country-Code: US\r\nx-country-code: FR\r\n"), std::string::npos) << out;
}

TEST(HeaderRewrite, EveryXForwardedForCopyIsKeptInOrder) {
  RequestHead req = parse_req(
      "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2, "
      "3.3.3.3\r\n\r\n");
  std::string out;
  build_request_head(req, RequestRewrite{.target = "/", .client_ip = "::1", .proto = "http"}, out);
  EXPECT_NE(out.find("X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, ::1\r\n"), std::string::npos)
      << out;
}

TEST(HeaderRewrite, ExpectAndTeSentOnlyWhenTheRelayAsks) {
  RequestHead req = parse_req(
      "PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTE: trailers, gzip\r\n"
      "Trailer: X-Sum\r\nContent-Length: 5\r\n\r\n");
  std::string out;
  build_request_head(req,
                     RequestRewrite{.target = "/up",
                                    .client_ip = "127.0.0.1",
                                    .proto = "http",
                                    .expect_continue = true,
                                    .te_trailers = true,
                                    .content_length = 5},
                     out);
  EXPECT_NE(out.find("\r\nExpect: 100-continue\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nTE: trailers\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("gzip"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nTrailer: X-Sum\r\n"), std::string::npos) << out;  // end-to-end
}

TEST(HeaderRewrite, FramingIsRewrittenAndExpectAnsweredLocally) {
  RequestHead req = parse_req(
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
  std::string out;
  build_request_head(
      req,
      RequestRewrite{.target = "/up", .client_ip = "127.0.0.1", .proto = "http", .chunked = true},
      out);
  EXPECT_EQ(out.find("Expect"), std::string::npos);
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);

  RequestHead req2 = parse_req("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n");
  out.clear();
  build_request_head(
      req2,
      RequestRewrite{
          .target = "/up", .client_ip = "127.0.0.1", .proto = "http", .content_length = 5},
      out);
  EXPECT_NE(out.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(out.find("5, 5"), std::string::npos);
}

TEST(HeaderRewrite, ForwardedAndViaWhenEnabled) {
  RequestHead req = parse_req("GET / HTTP/1.1\r\nHost: h.example\r\n\r\n");
  std::string out;
  build_request_head(req,
                     RequestRewrite{.target = "/",
                                    .client_ip = "2001:db8::1",
                                    .proto = "https",
                                    .host = req.host,
                                    .forwarded = true,
                                    .via = true},
                     out);
  EXPECT_NE(out.find("Forwarded: for=\"[2001:db8::1]\";proto=https;host=\"h.example\"\r\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Via: 1.1 passeur\r\n"), std::string::npos);
}

TEST(HeaderRewrite, WebSocketUpgradeIsKept) {
  RequestHead req = parse_req(
      "GET /push HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Key: k\r\n\r\n");
  std::string out;
  build_request_head(
      req,
      RequestRewrite{
          .target = "/push", .client_ip = "127.0.0.1", .proto = "http", .websocket = true},
      out);
  EXPECT_NE(out.find("Connection: upgrade\r\nUpgrade: websocket\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Sec-WebSocket-Key: k\r\n"), std::string::npos);
}

TEST(HeaderRewrite, ResponseFramingAndConnection) {
  ResponseHead res = parse_res(
      "HTTP/1.1 200 OK\r\nServer: nginx\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
      "Keep-Alive: timeout=75\r\n\r\n");
  std::string out;
  build_response_head(res, ResponseRewrite{.framing = Framing::Chunked, .keep_alive = false}, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nServer: nginx\r\nTransfer-Encoding: chunked\r\nConnection: "
            "close\r\n\r\n");

  ResponseHead res2 = parse_res("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
  out.clear();
  build_response_head(res2, ResponseRewrite{.framing = Framing::Length, .client_http10 = true},
                      out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n");
}

TEST(HeaderRewrite, HeadResponseKeepsDeclaredLength) {
  ResponseHead res = parse_res("HTTP/1.1 200 OK\r\nContent-Length: 2147483648\r\n\r\n");
  std::string out;
  build_response_head(res, ResponseRewrite{.framing = Framing::None}, out);
  EXPECT_NE(out.find("Content-Length: 2147483648\r\n"), std::string::npos);
}

TEST(HeaderRewrite, ErrorResponseIsShortText) {
  std::string out;
  build_error_response(503, "no usable node", true, out);
  EXPECT_EQ(out,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: "
            "15\r\nConnection: close\r\n\r\nno usable node\n");
}

}  // namespace
}  // namespace proxy::http
