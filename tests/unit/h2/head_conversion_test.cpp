#include "proxy/h2/head_conversion.h"

#include <gtest/gtest.h>

#include <string>

namespace proxy::h2 {
namespace {

using http::HeadStatus;
using http::RequestHead;
using http::ResponseHead;

RequestHeadText request(std::initializer_list<std::pair<std::string, std::string>> fields) {
  RequestHeadText t;
  for (const auto& [n, v] : fields) EXPECT_TRUE(t.add(n, v)) << n;
  return t;
}

TEST(H2HeadConversion, PseudoHeadersBecomeRequestLineAndHost) {
  auto t = request({{":method", "GET"},
                    {":scheme", "https"},
                    {":authority", "webmail.example.coop"},
                    {":path", "/mail/?x=1"},
                    {"accept", "*/*"}});
  const std::string text = t.finish(false);
  EXPECT_EQ(text, "GET /mail/?x=1 HTTP/1.1\r\nHost: webmail.example.coop\r\naccept: */*\r\n\r\n");
  RequestHead req;
  ASSERT_EQ(http::parse_request_head(text, text.size() + 1, req), HeadStatus::Complete);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/mail/?x=1");
  EXPECT_EQ(req.host, "webmail.example.coop");
  EXPECT_EQ(req.host_count, 1u);
  EXPECT_FALSE(req.chunked);
}

TEST(H2HeadConversion, AuthorityWinsOverHostField) {
  auto t = request({{":method", "GET"},
                    {":scheme", "https"},
                    {":authority", "a.example"},
                    {":path", "/"},
                    {"host", "b.example"}});
  RequestHead req;
  const std::string text = t.finish(false);
  ASSERT_EQ(http::parse_request_head(text, text.size() + 1, req), HeadStatus::Complete);
  EXPECT_EQ(req.host, "a.example");
  EXPECT_EQ(req.host_count, 1u);
}

TEST(H2HeadConversion, HostFieldWithoutAuthority) {
  auto t = request({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"host", "b.ex"}});
  RequestHead req;
  const std::string text = t.finish(false);
  ASSERT_EQ(http::parse_request_head(text, text.size() + 1, req), HeadStatus::Complete);
  EXPECT_EQ(req.host, "b.ex");
}

TEST(H2HeadConversion, CookiesAreJoined) {
  auto t = request({{":method", "GET"},
                    {":scheme", "https"},
                    {":authority", "a"},
                    {":path", "/"},
                    {"cookie", "a=1"},
                    {"cookie", "b=2"}});
  RequestHead req;
  const std::string text = t.finish(false);
  ASSERT_EQ(http::parse_request_head(text, text.size() + 1, req), HeadStatus::Complete);
  EXPECT_EQ(req.get("cookie"), "a=1; b=2");
}

TEST(H2HeadConversion, BodyWithoutLengthIsChunkedForTheNode) {
  auto t =
      request({{":method", "POST"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/"}});
  RequestHead req;
  std::string text = t.finish(true);
  ASSERT_EQ(http::parse_request_head(text, text.size() + 1, req), HeadStatus::Complete);
  EXPECT_TRUE(req.chunked);
  auto u = request({{":method", "POST"},
                    {":scheme", "https"},
                    {":authority", "a"},
                    {":path", "/"},
                    {"content-length", "5"}});
  text = u.finish(true);
  ASSERT_EQ(http::parse_request_head(text, text.size() + 1, req), HeadStatus::Complete);
  EXPECT_FALSE(req.chunked);
  EXPECT_EQ(req.content_length, 5u);
}

TEST(H2HeadConversion, MalformedRequestsGiveNoHead) {
  RequestHeadText repeated;
  EXPECT_TRUE(repeated.add(":method", "GET"));
  EXPECT_FALSE(repeated.add(":method", "POST"));
  EXPECT_EQ(repeated.finish(false), "");
  RequestHeadText unknown;
  EXPECT_FALSE(unknown.add(":status", "200"));
  RequestHeadText no_path;
  EXPECT_TRUE(no_path.add(":method", "GET"));
  EXPECT_EQ(no_path.finish(false), "");
  auto connect = request({{":method", "CONNECT"}, {":authority", "a:443"}, {":path", "/"}});
  EXPECT_EQ(connect.finish(false), "");
  EXPECT_EQ(connect.finish(true, "a2V5"), "");  // a key makes no plain CONNECT a WebSocket
}

TEST(H2HeadConversion, ExtendedConnectBecomesWebSocketHandshake) {
  auto t = request({{":method", "CONNECT"},
                    {":protocol", "websocket"},
                    {":scheme", "https"},
                    {":authority", "cloud.example.coop"},
                    {":path", "/push?u=1"},
                    {"sec-websocket-protocol", "chat"},
                    {"sec-websocket-key", "client's own"},
                    {"sec-websocket-version", "13"},
                    {"origin", "https://cloud.example.coop"}});
  ASSERT_TRUE(t.websocket());
  EXPECT_EQ(t.finish(true), "");  // no key, no handshake
  const std::string text = t.finish(true, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(text,
            "GET /push?u=1 HTTP/1.1\r\nHost: cloud.example.coop\r\n"
            "sec-websocket-protocol: chat\r\nsec-websocket-version: 13\r\n"
            "origin: https://cloud.example.coop\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  RequestHead req;
  ASSERT_EQ(http::parse_request_head(text, text.size() + 1, req), HeadStatus::Complete);
  EXPECT_EQ(req.method, "GET");
  EXPECT_TRUE(req.connection_upgrade);
  EXPECT_EQ(req.upgrade, "websocket");
  EXPECT_FALSE(req.chunked);
  EXPECT_FALSE(req.content_length);

  // Without a version from the client, 13 (the only one, RFC 6455).
  auto bare = request({{":method", "CONNECT"},
                       {":protocol", "websocket"},
                       {":scheme", "https"},
                       {":authority", "a"},
                       {":path", "/"}});
  EXPECT_NE(bare.finish(true, "a2V5").find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  // Another protocol, or :protocol on another method, is not served.
  auto other = request({{":method", "CONNECT"},
                        {":protocol", "connect-udp"},
                        {":scheme", "https"},
                        {":authority", "a"},
                        {":path", "/"}});
  EXPECT_FALSE(other.websocket());
  EXPECT_EQ(other.finish(true, "a2V5"), "");
  auto get = request({{":method", "GET"},
                      {":protocol", "websocket"},
                      {":scheme", "https"},
                      {":authority", "a"},
                      {":path", "/"}});
  EXPECT_EQ(get.finish(false, "a2V5"), "");
}

TEST(H2HeadConversion, ResponseFieldsLowerCaseWithoutConnectionFields) {
  const std::string text =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close, X-Hop\r\n"
      "X-Hop: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 3\r\nSet-Cookie: a=1\r\n"
      "Set-Cookie: b=2\r\n\r\n";
  ResponseHead res;
  ASSERT_EQ(http::parse_response_head(text, text.size() + 1, res), HeadStatus::Complete);
  const auto fields = response_fields(res);
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& f : fields) got.emplace_back(f.name, f.value);
  const std::vector<std::pair<std::string, std::string>> want = {{":status", "200"},
                                                                 {"content-type", "text/plain"},
                                                                 {"content-length", "3"},
                                                                 {"set-cookie", "a=1"},
                                                                 {"set-cookie", "b=2"}};
  EXPECT_EQ(got, want);
}

TEST(H2HeadConversion, TrailerLinesBothWays) {
  const auto fields = trailer_fields("X-Sum: abc\r\nServer-Timing:  db;dur=5 \r\nTE: x\r\n");
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].name, "x-sum");
  EXPECT_EQ(fields[0].value, "abc");
  EXPECT_EQ(fields[1].name, "server-timing");
  EXPECT_EQ(fields[1].value, "db;dur=5");
  std::string lines;
  append_trailer_line(lines, "x-sum", "abc");
  EXPECT_EQ(lines, "x-sum: abc\r\n");
}

}  // namespace
}  // namespace proxy::h2
