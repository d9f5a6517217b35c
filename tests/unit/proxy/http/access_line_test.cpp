#include "proxy/http/access_line.h"

#include <gtest/gtest.h>

#include <regex>

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
                                .upstream_seconds = 0.0015,
                                .total_seconds = 0.25},
                     out);
  std::regex re(
      R"(^127\.0\.0\.1:5555 - \[\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d\.\d{3} \+0000\] "GET /x HTTP/1\.1" 200 130 host="webmail\.example\.coop" listener=web pool=webmail node=node1 upstream_time=0\.00[12] request_time=0\.250\n$)");
  EXPECT_TRUE(std::regex_match(out, re)) << out;
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
