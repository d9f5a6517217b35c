#include "proxy/admin/json_text.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace proxy::admin {
namespace {

namespace json = boost::json;

TEST(JsonText, PrettyAndCompact) {
  json::value v = json::object{{"a", 1},
                               {"b", json::array{true, nullptr, "x\"y"}},
                               {"c", json::object{}},
                               {"d", json::array{}}};
  EXPECT_EQ(to_json_text(v, false), R"({"a":1,"b":[true,null,"x\"y"],"c":{},"d":[]})");
  EXPECT_EQ(to_json_text(v),
            "{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null,\n    \"x\\\"y\"\n  ],\n"
            "  \"c\": {},\n  \"d\": []\n}");
}

TEST(JsonText, NumbersInPlainNotation) {
  EXPECT_EQ(to_json_text(0.75), "0.75");
  EXPECT_EQ(to_json_text(12.5), "12.5");
  EXPECT_EQ(to_json_text(1.0), "1");
  EXPECT_EQ(to_json_text(0.001), "0.001");
  EXPECT_EQ(to_json_text(uint64_t{18446744073709551615ull}), "18446744073709551615");
  EXPECT_EQ(to_json_text(int64_t{-3}), "-3");
}

TEST(JsonText, RoundTrips) {
  json::value v = json::object{{"s", "caf\xc3\xa9\n\t"}, {"n", 3.25}, {"neg", -1}};
  EXPECT_EQ(json::parse(to_json_text(v)), v);
}

// Bytes that are not UTF-8 (a percent-decoded path segment) become U+FFFD: the text stays JSON
// (found by fuzz/admin_api_fuzzer). Overlong forms, surrogates and cut sequences are not UTF-8.
TEST(JsonText, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  const json::value v =
      json::object{{"n\xde"
                    "2",
                    "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82|\xf0\x9f\x98\x80"}};
  const std::string text = to_json_text(v, false);
  json::error_code ec;
  const json::value back = json::parse(text, ec);
  ASSERT_FALSE(ec) << text;
  EXPECT_EQ(back, (json::object{{"n\xef\xbf\xbd"
                                 "2",
                                 "\xef\xbf\xbd\xef\xbf\xbd|"
                                 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                                 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                                 "\xef\xbf\xbd\xef\xbf\xbd|\xf0\x9f\x98\x80"}}));
}

}  // namespace
}  // namespace proxy::admin
