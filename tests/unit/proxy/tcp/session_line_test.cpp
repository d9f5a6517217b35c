// The access log line of a relayed session: TCP, and a mail session's user and login result.
#include "proxy/tcp/session_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace proxy::tcp_relay {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(SessionLine, TcpSession) {
  std::string out;
  format_session_line({.client = "192.0.2.7",
                       .client_port = 51234,
                       .listener = "imaps",
                       .pool = "imap",
                       .node = "node1",
                       .bytes_in = 12,
                       .bytes_out = 345,
                       .connect_seconds = 0.001,
                       .total_seconds = 1.5,
                       .cause = "client_fin"},
                      out);
  EXPECT_THAT(out, StartsWith("192.0.2.7:51234 - ["));
  EXPECT_THAT(out, EndsWith("] \"TCP imaps\" listener=imaps pool=imap node=node1 bytes_in=12 "
                            "bytes_out=345 connect_time=0.001 duration=1.500 close=client_fin\n"));
}

TEST(SessionLine, MailSessionNamesItsUserAndLogin) {
  std::string out;
  format_session_line({.client = "192.0.2.7",
                       .client_port = 1,
                       .listener = "imap",
                       .cause = "login_timeout",
                       .kind = "IMAP",
                       .mail = true,
                       .user = "al\"ice bob",
                       .login = "refused"},
                      out);
  EXPECT_THAT(out, HasSubstr("\"IMAP imap\" listener=imap pool=- node=- "));
  EXPECT_THAT(out, EndsWith(" close=login_timeout user=\"al\\x22ice bob\" login=refused\n"));
  out.clear();
  format_session_line(
      {.listener = "imap", .cause = "client_closed", .kind = "IMAP", .mail = true, .login = "none"},
      out);
  EXPECT_THAT(out, EndsWith(" close=client_closed user=- login=none\n"));
}

}  // namespace
}  // namespace proxy::tcp_relay
