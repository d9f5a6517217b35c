#include "proxy/http/host.h"

#include <gtest/gtest.h>

namespace proxy::http {
namespace {

TEST(ValidHost, AcceptsNamesAddressesAndPorts) {
  for (const char* h : {"webmail.example.coop", "WEBMAIL.example.coop:443", "127.0.0.1",
                        "127.0.0.1:8080", "[::1]", "[::1]:8443", "[2001:db8::1]", "a_b-c.d"})
    EXPECT_TRUE(valid_host(h)) << h;
}

TEST(ValidHost, RefusesWhatCouldBeReflectedOrMisrouted) {
  for (const char* h : {"", "a b", "evil.test/@x", "evil.test\\x", "[::1", "[]", "[::1]x",
                        "host:80a", "host:123456", ":80", "a\"b", "a<b", "[zz::1]"})
    EXPECT_FALSE(valid_host(h)) << h;
}

}  // namespace
}  // namespace proxy::http
