#include "proxy/http/access_line.h"

#include <gtest/gtest.h>

namespace proxy::http {
namespace {

TEST(AccessLine, HasEveryField) {
  std::string out;
  format_access_line(AccessLine{.client = "127.0.0.1",
                                .client_port = 5555,
                                .method = "GET",
                                .target = "/x",
                                .version = 11,
                                .status = 200,
                                .bytes = 130,
                                .host = "webmail.example.coop",
                                .listener = "web",
                                .pool = "webmail",
                                .node = "node1",
                                .upstream_seconds = 0.002,
                                .total_seconds = 0.25,
                                .bytes_in = 95,
                                .close = "keepalive"},
                     out);
  // 127.0.0.1:5555 - [21/Nov/2026:18:30:00.123 +0000] "GET /x HTTP/1.1" 200 130 ...
  ASSERT_TRUE(out.starts_with("127.0.0.1:5555 - [")) << out;
  size_t close = out.find("] ");
  ASSERT_NE(close, std::string::npos);
  std::string stamp = out.substr(18, close - 18);  // 21/Nov/2026:18:30:00.123 +0000
  EXPECT_EQ(stamp.size(), 30u) << stamp;
  EXPECT_EQ(stamp.substr(2, 1) + stamp.substr(6, 1), "//") << stamp;
  EXPECT_EQ(stamp.substr(20, 1), ".") << stamp;
  EXPECT_TRUE(stamp.ends_with(" +0000")) << stamp;
  EXPECT_EQ(out.substr(close + 2),
            "\"GET /x HTTP/1.1\" 200 130 host=\"webmail.example.coop\" listener=web pool=webmail "
            "node=node1 upstream_time=0.002 request_time=0.250 bytes_in=95 close=keepalive\n");
}

TEST(AccessLine, CountryFieldOnlyWithADatabase) {
  std::string out;
  format_access_line(AccessLine{.client = "::1", .status = 200, .listener = "web"}, out);
  EXPECT_EQ(out.find("country="), std::string::npos) << out;
  out.clear();
  format_access_line(AccessLine{.client = "::1", .status = 200, .listener = "web", .country = "DE"},
                     out);
  EXPECT_TRUE(out.ends_with(" request_time=0.000 bytes_in=0 close=- country=DE\n")) << out;
}

TEST(AccessLine, EscapesQuotesAndControlCharacters) {
  std::string out;
  format_access_line(AccessLine{.client = "::1",
                                .method = "GET",
                                .target = "/\"\n\x01",
                                .status = 400,
                                .host = "a\"b",
                                .listener = "web"},
                     out);
  EXPECT_NE(out.find(R"("GET /\x22\x0a\x01 HTTP/1.1")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"(host="a\x22b")"), std::string::npos) << out;
  EXPECT_NE(out.find("pool=- node=- upstream_time=-"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1);
}

}  // namespace
}  // namespace proxy::http
