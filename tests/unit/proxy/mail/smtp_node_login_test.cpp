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

ClientAddress from_afar() {
  return {.ip = "203.0.113.7", .port = 40123, .local_ip = "192.0.2.1", .local_port = 587};
}

TEST(SmtpNodeLogin, XclientThenEhloAgainThenAuth) {
  SmtpNodeLogin n("client.example", alice(), from_afar());
  EXPECT_EQ(n.on_line("220 mx.example.test ESMTP").to_node, "EHLO client.example\r\n");
  EXPECT_EQ(n.on_line("250-mx.example.test").to_node, "");
  EXPECT_EQ(n.on_line("250-AUTH PLAIN LOGIN").to_node, "");
  EXPECT_EQ(n.on_line("250-XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN").to_node, "");
  NodeStep s = n.on_line("250 CHUNKING");
  EXPECT_EQ(s.to_node,
            "XCLIENT ADDR=203.0.113.7 NAME=[UNAVAILABLE] PORT=40123 PROTO=ESMTP "
            "HELO=client.example\r\n");
  EXPECT_FALSE(s.done);
  EXPECT_FALSE(n.login_sent());
  // The node's session starts again, as from the client: its greeting, then EHLO again.
  EXPECT_EQ(n.on_line("220-mx.example.test ESMTP").to_node, "");
  EXPECT_EQ(n.on_line("220 again").to_node, "EHLO client.example\r\n");
  EXPECT_EQ(n.on_line("250-mx.example.test").to_node, "");
  EXPECT_EQ(n.on_line("250-AUTH PLAIN LOGIN").to_node, "");
  s = n.on_line("250 8BITMIME");
  EXPECT_EQ(s.to_node, "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=\r\n");
  EXPECT_TRUE(n.login_sent());
  s = n.on_line("235 2.7.0 Authentication successful");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.result, LoginResult::Ok);
  EXPECT_EQ(s.to_client, "235 2.7.0 Authentication successful\r\n");
  EXPECT_TRUE(n.unsent_reason().empty());
}

TEST(SmtpNodeLogin, AnOlderNodeAnswering250ToXclient) {
  SmtpNodeLogin n("c", alice(), from_afar());
  n.on_line("220 hi");
  EXPECT_EQ(n.on_line("250 XCLIENT ADDR").to_node, "XCLIENT ADDR=203.0.113.7\r\n");
  EXPECT_EQ(n.on_line("250 Ok").to_node, "EHLO c\r\n");
  EXPECT_EQ(n.on_line("250 AUTH PLAIN").to_node, "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=\r\n");
}

TEST(SmtpNodeLogin, ANodeWithoutXclientIsLeftBeforeTheLogin) {
  SmtpNodeLogin n("c", alice(), from_afar());
  n.on_line("220 hi");
  n.on_line("250-mx");
  NodeStep s = n.on_line("250 AUTH PLAIN");
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.result, LoginResult::Failed);
  EXPECT_EQ(s.to_node, "QUIT\r\n");  // a polite goodbye, no login
  EXPECT_FALSE(n.login_sent());
  EXPECT_NE(n.unsent_reason().find("does not offer XCLIENT"), std::string_view::npos);

  SmtpNodeLogin no_addr("c", alice(), from_afar());
  no_addr.on_line("220 hi");
  no_addr.on_line("250-XCLIENT NAME HELO");
  EXPECT_EQ(no_addr.on_line("250 AUTH PLAIN").result, LoginResult::Failed);
  EXPECT_FALSE(no_addr.login_sent());
  EXPECT_NE(no_addr.unsent_reason().find("ADDR"), std::string_view::npos);

  // Refused (Passeur not authorized after all): left before the login, with the node's words.
  SmtpNodeLogin refused("c", alice(), from_afar());
  refused.on_line("220 hi");
  refused.on_line("250-XCLIENT ADDR");
  EXPECT_EQ(refused.on_line("250 AUTH PLAIN").to_node, "XCLIENT ADDR=203.0.113.7\r\n");
  s = refused.on_line("550 5.7.0 Error: insufficient authorization");
  EXPECT_EQ(s.result, LoginResult::Failed);
  EXPECT_FALSE(refused.login_sent());
  EXPECT_EQ(refused.unsent_reason(),
            "the node refused XCLIENT: 550 5.7.0 Error: insufficient authorization");
}

TEST(SmtpNodeLogin, WithoutXclientTheOfferIsIgnored) {
  SmtpNodeLogin n("c", alice());
  n.on_line("220 hi");
  n.on_line("250-XCLIENT ADDR");
  EXPECT_EQ(n.on_line("250 AUTH PLAIN").to_node, "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=\r\n");
}

}  // namespace
}  // namespace proxy::mail
