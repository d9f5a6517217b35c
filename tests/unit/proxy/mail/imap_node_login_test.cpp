// Passeur's dialogue with an IMAP node: greeting, ID, the replayed login and its answer.
#include "proxy/mail/imap_node_login.h"

#include <gtest/gtest.h>

namespace proxy::mail {
namespace {

const Credentials kAlice{.user = "alice", .password = "alicepw"};

TEST(ImapNodeLogin, ReplaysTheLoginAndRelaysTheAnswer) {
  ImapNodeLogin n("a6", kAlice, std::nullopt);
  NodeStep s = n.on_line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot ready.");
  EXPECT_EQ(s.to_node, "a6 AUTHENTICATE PLAIN AGFsaWNlAGFsaWNlcHc=\r\n");
  EXPECT_EQ(s.to_client, "");
  EXPECT_FALSE(s.done);
  s = n.on_line("a6 OK [CAPABILITY IMAP4rev1 IDLE] Logged in");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.result, LoginResult::Ok);
  EXPECT_EQ(s.to_client, "a6 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n");
}

TEST(ImapNodeLogin, SendsIdFirstAndHidesItsAnswer) {
  ClientAddress a{.ip = "192.0.2.7", .port = 51234, .local_ip = "127.0.0.1", .local_port = 143};
  ImapNodeLogin n("t", kAlice, a);
  NodeStep s = n.on_line("* OK Dovecot ready.");
  EXPECT_EQ(s.to_node,
            "PSR1 ID (\"x-originating-ip\" \"192.0.2.7\" \"x-originating-port\" \"51234\" "
            "\"x-connected-ip\" \"127.0.0.1\" \"x-connected-port\" \"143\")\r\n"
            "t AUTHENTICATE PLAIN AGFsaWNlAGFsaWNlcHc=\r\n");
  EXPECT_EQ(n.on_line("* ID (\"name\" \"Dovecot\")").to_client, "");
  EXPECT_EQ(n.on_line("PSR1 OK ID completed.").to_client, "");
  s = n.on_line("t NO [AUTHENTICATIONFAILED] Authentication failed.");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.result, LoginResult::Refused);
  EXPECT_EQ(s.to_client, "t NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
}

TEST(ImapNodeLogin, UntaggedLinesAndContinuations) {
  ImapNodeLogin n("t", kAlice, std::nullopt);
  n.on_line("* OK ready");
  NodeStep s = n.on_line("* CAPABILITY IMAP4rev1");
  EXPECT_EQ(s.to_client, "* CAPABILITY IMAP4rev1\r\n");
  EXPECT_FALSE(s.done);
  s = n.on_line("+ ");
  EXPECT_EQ(s.to_node, "*\r\n");
  EXPECT_EQ(s.to_client, "");
  s = n.on_line("t BAD Authentication aborted");
  EXPECT_EQ(s.result, LoginResult::Refused);
  // A tag that only starts like the client's is not its answer.
  ImapNodeLogin m("t", kAlice, std::nullopt);
  m.on_line("* OK ready");
  EXPECT_FALSE(m.on_line("tt OK other").done);
  EXPECT_EQ(m.on_line("t ok done").result, LoginResult::Ok);
}

TEST(ImapNodeLogin, AGreetingThatIsNotOkFails) {
  ImapNodeLogin n("t", kAlice, std::nullopt);
  NodeStep s = n.on_line("* BYE Too many connections");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.result, LoginResult::Failed);
  EXPECT_EQ(s.to_node, "");
  ImapNodeLogin p("t", kAlice, std::nullopt);
  EXPECT_EQ(p.on_line("* PREAUTH logged in").result, LoginResult::Failed);
}

}  // namespace
}  // namespace proxy::mail
