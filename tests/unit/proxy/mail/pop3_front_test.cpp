// The POP3 dialogue Passeur answers before a login, and the login it learns.
#include "proxy/mail/pop3_front.h"

#include <gtest/gtest.h>

#include "proxy/mail/pop3_node_login.h"

namespace proxy::mail {
namespace {

TEST(Pop3Front, StlsFirstThenUserPass) {
  Pop3Front f({.tls = false, .starttls = true});
  EXPECT_EQ(f.greeting(), "+OK Ready.\r\n");
  EXPECT_EQ(f.on_line("CAPA").reply,
            "+OK\r\nCAPA\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\n.\r\n");
  EXPECT_EQ(f.on_line("USER alice").reply,
            "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) "
            "connections.\r\n");
  EXPECT_EQ(f.on_line("AUTH PLAIN AGFsaWNlAGFsaWNlcHc=").reply.substr(0, 11), "-ERR [AUTH]");
  Step s = f.on_line("stls");
  EXPECT_EQ(s.reply, "+OK Begin TLS negotiation now.\r\n");
  EXPECT_EQ(s.next, Next::StartTls);
  f.tls_started();
  EXPECT_EQ(f.on_line("CAPA").reply,
            "+OK\r\nCAPA\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nUSER\r\nSASL "
            "PLAIN\r\n.\r\n");
  EXPECT_EQ(f.on_line("STLS").reply, "-ERR TLS is already active.\r\n");
  EXPECT_EQ(f.on_line("PASS x").reply, "-ERR No USER given.\r\n");
  EXPECT_EQ(f.on_line("USER alice").reply, "+OK\r\n");
  s = f.on_line("PASS alice pw");
  EXPECT_EQ(s.next, Next::Login);
  EXPECT_EQ(f.credentials().user, "alice");
  EXPECT_EQ(f.credentials().password, "alice pw");
}

TEST(Pop3Front, AuthPlainBothWaysAndQuit) {
  Pop3Front f({.tls = true});
  EXPECT_EQ(f.on_line("AUTH").reply, "+OK\r\nPLAIN\r\n.\r\n");
  EXPECT_EQ(f.on_line("AUTH LOGIN").reply, "-ERR Unsupported authentication mechanism.\r\n");
  EXPECT_EQ(f.on_line("AUTH PLAIN AGFsaWNlAGFsaWNlcHc=").next, Next::Login);
  EXPECT_EQ(f.credentials().password, "alicepw");
  f.login_done();
  EXPECT_EQ(f.on_line("AUTH PLAIN").reply, "+ \r\n");
  EXPECT_EQ(f.on_line("*").reply, "-ERR Authentication aborted by client.\r\n");
  EXPECT_EQ(f.on_line("AUTH PLAIN").reply, "+ \r\n");
  EXPECT_EQ(f.on_line("AGFsaWNlAGFsaWNlcHc=").next, Next::Login);
  f.login_done();
  Step s = f.on_line("QUIT");
  EXPECT_EQ(s.reply, "+OK Logging out.\r\n");
  EXPECT_EQ(s.next, Next::Close);
}

TEST(Pop3Front, UnknownCommandsUntilClosed) {
  Pop3Front f({.tls = true});
  EXPECT_EQ(f.on_line("STAT").reply, "-ERR Unknown command.\r\n");
  Step s;
  for (int i = 0; i < 9; ++i) s = f.on_line("");
  EXPECT_EQ(s.next, Next::Close);
  EXPECT_EQ(s.reply, "-ERR Too many invalid commands.\r\n");
}

TEST(Pop3NodeLogin, ReplaysAuthPlainAndRelaysTheAnswer) {
  Pop3NodeLogin n({.user = "alice", .password = "alicepw"});
  NodeStep s = n.on_line("+OK Dovecot ready.");
  EXPECT_EQ(s.to_node, "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=\r\n");
  s = n.on_line("+OK Logged in.");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.result, LoginResult::Ok);
  EXPECT_EQ(s.to_client, "+OK Logged in.\r\n");
  Pop3NodeLogin m({.user = "alice", .password = "x"});
  m.on_line("+OK ready");
  EXPECT_EQ(m.on_line("+ ").to_node, "*\r\n");
  s = m.on_line("-ERR [AUTH] Authentication failed.");
  EXPECT_EQ(s.result, LoginResult::Refused);
  EXPECT_EQ(s.to_client, "-ERR [AUTH] Authentication failed.\r\n");
  Pop3NodeLogin b({.user = "alice", .password = "x"});
  EXPECT_EQ(b.on_line("-ERR too busy").result, LoginResult::Failed);
}

}  // namespace
}  // namespace proxy::mail
