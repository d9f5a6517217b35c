// The IMAP dialogue Passeur answers before a login, and the login it learns.
#include "proxy/mail/imap_front.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace proxy::mail {
namespace {

using ::testing::HasSubstr;

ImapFront plain() {
  return ImapFront({.tls = false, .starttls = true});
}
ImapFront secure() {
  return ImapFront({.tls = true, .starttls = false});
}

TEST(ImapFront, GreetingAdvertisesStarttlsAndRefusesLoginsBeforeIt) {
  ImapFront f = plain();
  EXPECT_EQ(f.greeting(),
            "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID STARTTLS LOGINDISABLED] Ready.\r\n");
  Step s = f.on_line("a1 LOGIN alice alicepw");
  EXPECT_EQ(s.next, Next::Read);
  EXPECT_EQ(s.reply,
            "a1 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) "
            "connections.\r\n");
  s = f.on_line("a2 AUTHENTICATE PLAIN AGFsaWNlAGFsaWNlcHc=");
  EXPECT_THAT(s.reply, HasSubstr("a2 NO [PRIVACYREQUIRED]"));
  s = f.on_line("a3 STARTTLS");
  EXPECT_EQ(s.reply, "a3 OK Begin TLS negotiation now.\r\n");
  EXPECT_EQ(s.next, Next::StartTls);
  f.tls_started();
  s = f.on_line("a4 CAPABILITY");
  EXPECT_EQ(s.reply,
            "* CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID AUTH=PLAIN\r\na4 OK Pre-login "
            "capabilities listed, post-login capabilities have more.\r\n");
  s = f.on_line("a5 STARTTLS");
  EXPECT_EQ(s.reply, "a5 BAD TLS is already active.\r\n");
  s = f.on_line("a6 LOGIN alice alicepw");
  EXPECT_EQ(s.next, Next::Login);
  EXPECT_EQ(s.reply, "");
  EXPECT_EQ(f.tag(), "a6");
  EXPECT_EQ(f.credentials().user, "alice");
  EXPECT_EQ(f.credentials().password, "alicepw");
}

TEST(ImapFront, PlaintextAllowedWhenConfigured) {
  ImapFront f({.tls = false, .starttls = false, .allow_plaintext_auth = true});
  EXPECT_EQ(f.greeting(), "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID AUTH=PLAIN] Ready.\r\n");
  EXPECT_EQ(f.on_line("x LOGIN \"alice\" \"a \\\"pw\\\\\"").next, Next::Login);
  EXPECT_EQ(f.credentials().password, "a \"pw\\");
  f.login_done();
  EXPECT_EQ(f.on_line("y STARTTLS").reply, "y BAD STARTTLS is not available.\r\n");
}

TEST(ImapFront, NoopLogoutId) {
  ImapFront f = secure();
  EXPECT_EQ(f.on_line("1 noop").reply, "1 OK NOOP completed.\r\n");
  EXPECT_EQ(f.on_line("2 ID (\"name\" \"Thunderbird\" \"version\" \"115\")").reply,
            "* ID NIL\r\n2 OK ID completed.\r\n");
  EXPECT_EQ(f.on_line("3 ID NIL").reply, "* ID NIL\r\n3 OK ID completed.\r\n");
  Step s = f.on_line("4 LOGOUT");
  EXPECT_EQ(s.reply, "* BYE Logging out\r\n4 OK Logout completed.\r\n");
  EXPECT_EQ(s.next, Next::Close);
}

TEST(ImapFront, IdFieldsAreReadForTheAnnouncedAddress) {
  ImapFront f = secure();
  EXPECT_EQ(f.announced_ip(), "");
  EXPECT_EQ(f.on_line("1 ID (\"name\" \"Roundcube\" \"X-Originating-IP\" \"203.0.113.9\")").reply,
            "* ID NIL\r\n1 OK ID completed.\r\n");
  EXPECT_EQ(f.announced_ip(), "203.0.113.9");
  // A later ID replaces it; NIL values and an empty list are fine.
  f.on_line("2 ID (\"x-originating-ip\" \"2001:db8::7\" \"x-originating-port\" NIL)");
  EXPECT_EQ(f.announced_ip(), "2001:db8::7");
  f.on_line("3 ID ()");
  EXPECT_EQ(f.announced_ip(), "2001:db8::7");
}

TEST(ImapFront, IdFieldsParse) {
  using Fields = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(parse_id_fields(" (\"Name\" \"a \\\"b\\\"\" \"v\" NIL)"),
            (Fields{{"name", "a \"b\""}, {"v", ""}}));
  EXPECT_EQ(parse_id_fields("NIL"), Fields{});
  EXPECT_EQ(parse_id_fields("()"), Fields{});
  // Malformed: nothing is taken.
  EXPECT_EQ(parse_id_fields("(\"x-originating-ip\" \"1.2.3.4\""), Fields{});
  EXPECT_EQ(parse_id_fields("(\"x-originating-ip\" {7}"), Fields{});
  EXPECT_EQ(parse_id_fields("(NIL \"1.2.3.4\")"), Fields{});
  EXPECT_EQ(parse_id_fields("(\"unterminated)"), Fields{});
}

TEST(ImapFront, AuthenticatePlainWithInitialResponse) {
  ImapFront f = secure();
  Step s = f.on_line("a AUTHENTICATE plain AGFsaWNlAGFsaWNlcHc=");
  EXPECT_EQ(s.next, Next::Login);
  EXPECT_EQ(f.credentials().user, "alice");
  EXPECT_EQ(f.credentials().password, "alicepw");
  EXPECT_EQ(f.tag(), "a");
}

TEST(ImapFront, AuthenticatePlainAfterContinuation) {
  ImapFront f = secure();
  Step s = f.on_line("b AUTHENTICATE PLAIN");
  EXPECT_EQ(s.reply, "+ \r\n");
  EXPECT_EQ(s.next, Next::Read);
  s = f.on_line("AGFsaWNlAGFsaWNlcHc=");
  EXPECT_EQ(s.next, Next::Login);
  EXPECT_EQ(f.credentials().user, "alice");
  // Cancelled by the client, and a response that is not PLAIN.
  ImapFront g = secure();
  g.on_line("c AUTHENTICATE PLAIN");
  EXPECT_EQ(g.on_line("*").reply, "c BAD Authentication aborted by client.\r\n");
  g.on_line("d AUTHENTICATE PLAIN");
  EXPECT_EQ(g.on_line("bm90IHBsYWlu").reply, "d BAD Invalid AUTHENTICATE PLAIN response.\r\n");
  EXPECT_EQ(g.on_line("e AUTHENTICATE CRAM-MD5").reply,
            "e NO Unsupported authentication mechanism.\r\n");
}

TEST(ImapFront, LoginWithLiterals) {
  ImapFront f = secure();
  Step s = f.on_line("L1 LOGIN {5}");
  EXPECT_EQ(s.reply, "+ OK\r\n");
  EXPECT_EQ(f.literal_wanted(), 5u);
  EXPECT_EQ(f.on_literal("alice").next, Next::Read);
  s = f.on_line(" {9+}");  // non-synchronizing: no continuation
  EXPECT_EQ(s.reply, "");
  EXPECT_EQ(f.literal_wanted(), 9u);
  f.on_literal("pw\r\n\"{x}\"");
  s = f.on_line("");
  EXPECT_EQ(s.next, Next::Login);
  EXPECT_EQ(f.credentials().user, "alice");
  EXPECT_EQ(f.credentials().password, "pw\r\n\"{x}\"");
}

TEST(ImapFront, OversizedLiteralCloses) {
  ImapFront f = secure();
  Step s = f.on_line("L LOGIN alice {100000+}");
  EXPECT_EQ(s.next, Next::Close);
  EXPECT_EQ(s.reply, "* BYE Literal too large.\r\n");
}

TEST(ImapFront, MalformedCommands) {
  ImapFront f = secure();
  EXPECT_EQ(f.on_line("").reply, "* BAD Error in IMAP command received by server.\r\n");
  EXPECT_EQ(f.on_line("NOTAG").reply, "* BAD Error in IMAP command received by server.\r\n");
  EXPECT_EQ(f.on_line("a+ NOOP").reply, "* BAD Error in IMAP command received by server.\r\n");
  EXPECT_EQ(f.on_line("a LOGIN \"unterminated").reply,
            "a BAD Error in IMAP command LOGIN: Invalid arguments.\r\n");
  EXPECT_EQ(f.on_line("a LOGIN onlyuser").reply,
            "a BAD Error in IMAP command LOGIN: Invalid arguments.\r\n");
  EXPECT_EQ(f.on_line("a SELECT INBOX").reply,
            "a BAD Error in IMAP command SELECT: Unknown command or not allowed before login.\r\n");
  Step s;
  for (int i = 0; i < 4; ++i) s = f.on_line("x");
  EXPECT_EQ(s.next, Next::Close);
  EXPECT_THAT(s.reply, HasSubstr("* BYE Too many invalid IMAP commands."));
}

TEST(ImapFront, BackToCommandsAfterARefusedLogin) {
  ImapFront f = secure();
  EXPECT_EQ(f.on_line("a LOGIN alice wrong").next, Next::Login);
  f.login_done();
  EXPECT_EQ(f.on_line("b LOGIN alice alicepw").next, Next::Login);
  EXPECT_EQ(f.tag(), "b");
  EXPECT_EQ(f.unavailable(), "b NO [UNAVAILABLE] Account is temporarily unavailable.\r\n");
}

}  // namespace
}  // namespace proxy::mail
