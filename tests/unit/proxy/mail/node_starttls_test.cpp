// Passeur's STARTTLS with IMAP, POP3 and SMTP nodes before the login (node_tls).
#include "proxy/mail/node_starttls.h"

#include <gtest/gtest.h>

namespace proxy::mail {
namespace {

using Next = NodeTlsStep::Next;

TEST(NodeStartTls, ImapStartTlsRightAfterTheGreeting) {
  NodeStartTls n(Protocol::Imap, routing::NodeTls::StartTls, "");
  NodeTlsStep s = n.on_line("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] Dovecot ready.");
  EXPECT_EQ(s.next, Next::More);
  EXPECT_EQ(s.to_node, "PSR0 STARTTLS\r\n");
  EXPECT_EQ(n.on_line("* BYE not this").next, Next::More);  // untagged lines are skipped
  EXPECT_EQ(n.on_line("PSR0 OK Begin TLS negotiation now.").next, Next::Handshake);
  EXPECT_EQ(n.greeting(), "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] Dovecot ready.");
}

TEST(NodeStartTls, ImapRefusedStartTlsFails) {
  NodeStartTls n(Protocol::Imap, routing::NodeTls::StartTls, "");
  n.on_line("* OK ready");
  EXPECT_EQ(n.on_line("PSR0 BAD Unknown command").next, Next::Failed);
  EXPECT_EQ(n.failure(), "refused STARTTLS: \"PSR0 BAD Unknown command\"");
}

TEST(NodeStartTls, ImapWithoutGreetingFails) {
  NodeStartTls n(Protocol::Imap, routing::NodeTls::StartTls, "");
  EXPECT_EQ(n.on_line("* BYE too busy").next, Next::Failed);
  EXPECT_EQ(n.failure(), "no IMAP greeting: \"* BYE too busy\"");
}

TEST(NodeStartTls, ImapAutoReadsTheGreetingsCapabilities) {
  NodeStartTls with(Protocol::Imap, routing::NodeTls::Auto, "");
  NodeTlsStep s = with.on_line("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready");
  EXPECT_EQ(s.to_node, "PSR0 STARTTLS\r\n");
  EXPECT_EQ(s.next, Next::More);

  NodeStartTls without(Protocol::Imap, routing::NodeTls::Auto, "");
  s = without.on_line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready");
  EXPECT_EQ(s.to_node, "");
  EXPECT_EQ(s.next, Next::Clear);
  EXPECT_EQ(without.greeting(), "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready");
}

TEST(NodeStartTls, ImapAutoAsksForCapabilities) {
  NodeStartTls n(Protocol::Imap, routing::NodeTls::Auto, "");
  EXPECT_EQ(n.on_line("* OK ready").to_node, "PSR0 CAPABILITY\r\n");
  EXPECT_EQ(n.on_line("* CAPABILITY IMAP4rev1 starttls LOGINDISABLED").next, Next::More);
  NodeTlsStep s = n.on_line("PSR0 OK done");
  EXPECT_EQ(s.to_node, "PSR0 STARTTLS\r\n");
  EXPECT_EQ(n.on_line("PSR0 OK go").next, Next::Handshake);

  NodeStartTls m(Protocol::Imap, routing::NodeTls::Auto, "");
  m.on_line("* OK ready");
  m.on_line("* CAPABILITY IMAP4rev1 AUTH=PLAIN");
  EXPECT_EQ(m.on_line("PSR0 OK done").next, Next::Clear);
}

TEST(NodeStartTls, Pop3Stls) {
  NodeStartTls n(Protocol::Pop3, routing::NodeTls::StartTls, "");
  EXPECT_EQ(n.on_line("+OK Dovecot ready.").to_node, "STLS\r\n");
  EXPECT_EQ(n.on_line("+OK Begin TLS negotiation now.").next, Next::Handshake);
  EXPECT_EQ(n.greeting(), "+OK Dovecot ready.");

  NodeStartTls refused(Protocol::Pop3, routing::NodeTls::StartTls, "");
  refused.on_line("+OK ready");
  EXPECT_EQ(refused.on_line("-ERR Unknown command").next, Next::Failed);
}

TEST(NodeStartTls, Pop3AutoReadsCapa) {
  NodeStartTls n(Protocol::Pop3, routing::NodeTls::Auto, "");
  EXPECT_EQ(n.on_line("+OK ready").to_node, "CAPA\r\n");
  EXPECT_EQ(n.on_line("+OK").next, Next::More);
  EXPECT_EQ(n.on_line("USER").next, Next::More);
  EXPECT_EQ(n.on_line("STLS").next, Next::More);
  EXPECT_EQ(n.on_line(".").to_node, "STLS\r\n");

  NodeStartTls m(Protocol::Pop3, routing::NodeTls::Auto, "");
  m.on_line("+OK ready");
  m.on_line("+OK");
  m.on_line("SASL PLAIN");
  EXPECT_EQ(m.on_line(".").next, Next::Clear);

  NodeStartTls old(Protocol::Pop3, routing::NodeTls::Auto, "");
  old.on_line("+OK ready");
  EXPECT_EQ(old.on_line("-ERR unknown command").next, Next::Clear);
}

TEST(NodeStartTls, SmtpEhloThenStartTls) {
  NodeStartTls n(Protocol::Smtp, routing::NodeTls::StartTls, "client.example");
  EXPECT_EQ(n.on_line("220-mx.example.test ESMTP").to_node, "");
  EXPECT_EQ(n.on_line("220 ready").to_node, "EHLO client.example\r\n");
  EXPECT_EQ(n.on_line("250-mx.example.test").to_node, "");
  EXPECT_EQ(n.on_line("250-STARTTLS").to_node, "");
  NodeTlsStep s = n.on_line("250 8BITMIME");
  EXPECT_EQ(s.to_node, "STARTTLS\r\n");
  EXPECT_EQ(n.on_line("220 2.0.0 Ready to start TLS").next, Next::Handshake);
  EXPECT_EQ(n.greeting(), "220 ready");
}

TEST(NodeStartTls, SmtpWithoutStartTls) {
  NodeStartTls required(Protocol::Smtp, routing::NodeTls::StartTls, "c");
  required.on_line("220 ready");
  EXPECT_EQ(required.on_line("250 AUTH PLAIN").next, Next::Failed);
  EXPECT_EQ(required.failure(), "does not offer STARTTLS");

  NodeStartTls optional(Protocol::Smtp, routing::NodeTls::Auto, "c");
  optional.on_line("220 ready");
  EXPECT_EQ(optional.on_line("250 AUTH PLAIN").next, Next::Clear);

  NodeStartTls refused(Protocol::Smtp, routing::NodeTls::StartTls, "c");
  refused.on_line("220 ready");
  refused.on_line("250 STARTTLS");
  EXPECT_EQ(refused.on_line("454 4.7.0 TLS not available").next, Next::Failed);
  EXPECT_EQ(refused.on_line("220 late").next, Next::Failed);  // nothing after the end
}

TEST(NodeStartTls, SmtpBadLinesFail) {
  NodeStartTls n(Protocol::Smtp, routing::NodeTls::StartTls, "c");
  EXPECT_EQ(n.on_line("hello").next, Next::Failed);
  NodeStartTls m(Protocol::Smtp, routing::NodeTls::StartTls, "c");
  m.on_line("220 ready");
  EXPECT_EQ(m.on_line("550 no").next, Next::Failed);
}

}  // namespace
}  // namespace proxy::mail
