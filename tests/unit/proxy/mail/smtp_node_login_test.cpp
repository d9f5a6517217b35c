// Passeur's EHLO and AUTH PLAIN to an SMTP node, and the node's answers.
#include "proxy/mail/smtp_node_login.h"

#include <gtest/gtest.h>

namespace proxy::mail {
namespace {

Credentials alice(std::string password = "alicepw") {
  return {.user = "alice", .password = std::move(password)};
}

// Through the greeting and EHLO: the AUTH command sent.
void to_auth(SmtpNodeLogin& n) {
  EXPECT_EQ(n.on_line("220-mx.example.test ESMTP").to_node, "");
  EXPECT_EQ(n.on_line("220 ready").to_node, "EHLO client.example\r\n");
  EXPECT_EQ(n.on_line("250-mx.example.test").to_node, "");
  EXPECT_EQ(n.on_line("250-AUTH LOGIN PLAIN").to_node, "");
  EXPECT_FALSE(n.login_sent());
  NodeStep s = n.on_line("250 8BITMIME");
  EXPECT_EQ(s.to_node, "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=\r\n");
  EXPECT_FALSE(s.done);
  EXPECT_TRUE(n.login_sent());
}

TEST(SmtpNodeLogin, EhloThenAuthPlainAccepted) {
  SmtpNodeLogin n("client.example", alice());
  to_auth(n);
  NodeStep s = n.on_line("235 2.7.0 Authentication successful");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.result, LoginResult::Ok);
  EXPECT_EQ(s.to_client, "235 2.7.0 Authentication successful\r\n");
}

TEST(SmtpNodeLogin, RefusalsAreRelayedUnchanged) {
  SmtpNodeLogin m("client.example", alice());
  to_auth(m);
  NodeStep s = m.on_line("535 5.7.8 Error: authentication failed: authentication failure");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.result, LoginResult::Refused);
  EXPECT_EQ(s.to_client, "535 5.7.8 Error: authentication failed: authentication failure\r\n");

  SmtpNodeLogin n("client.example", alice());
  to_auth(n);
  // A continuation: cancelled, and the node's answer to that ends the login.
  EXPECT_EQ(n.on_line("334 ").to_node, "*\r\n");
  s = n.on_line("454-4.7.0 Temporary");
  EXPECT_FALSE(s.done);
  EXPECT_EQ(s.to_client, "454-4.7.0 Temporary\r\n");
  s = n.on_line("454 4.7.0 authentication failure");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.result, LoginResult::Refused);
  EXPECT_EQ(s.to_client, "454 4.7.0 authentication failure\r\n");
}

TEST(SmtpNodeLogin, NodeFailuresBeforeTheLogin) {
  SmtpNodeLogin busy("c", alice());
  NodeStep s = busy.on_line("421 4.3.2 Service shutting down");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.result, LoginResult::Failed);
  EXPECT_FALSE(busy.login_sent());

  SmtpNodeLogin refused("c", alice());
  EXPECT_EQ(refused.on_line("220 hi").to_node, "EHLO c\r\n");
  EXPECT_EQ(refused.on_line("550 no").result, LoginResult::Failed);
  EXPECT_FALSE(refused.login_sent());

  // A node without AUTH PLAIN (SASL off, or only after its own TLS) cannot take the login.
  SmtpNodeLogin no_auth("c", alice());
  no_auth.on_line("220 hi");
  EXPECT_FALSE(no_auth.on_line("250-mx").done);
  s = no_auth.on_line("250 STARTTLS");
  EXPECT_EQ(s.result, LoginResult::Failed);
  EXPECT_EQ(s.to_node, "");

  SmtpNodeLogin garbage("c", alice());
  EXPECT_EQ(garbage.on_line("* OK IMAP").result, LoginResult::Failed);

  // 421 to the login: the node is going away, not a verdict on the password.
  SmtpNodeLogin closing("c", alice());
  closing.on_line("220 hi");
  closing.on_line("250 AUTH=PLAIN");
  EXPECT_TRUE(closing.login_sent());
  EXPECT_EQ(closing.on_line("421 4.4.2 timeout").result, LoginResult::Failed);
}

}  // namespace
}  // namespace proxy::mail
