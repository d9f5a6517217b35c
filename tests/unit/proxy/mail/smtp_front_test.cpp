// The SMTP submission dialogue Passeur answers before a login, and the login it learns.
#include "proxy/mail/smtp_front.h"

#include <gtest/gtest.h>

namespace proxy::mail {
namespace {

// "\0alice\0alicepw"
constexpr std::string_view kPlain = "AGFsaWNlAGFsaWNlcHc=";

TEST(SmtpFront, StartTlsFirstThenAuthPlain) {
  SmtpFront f({.tls = false, .starttls = true});
  EXPECT_EQ(f.greeting(), "220 Passeur ESMTP ready\r\n");
  EXPECT_EQ(f.on_line("AUTH PLAIN " + std::string(kPlain)).reply,
            "503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(f.on_line("EHLO client.example").reply,
            "250-Passeur\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-STARTTLS\r\n"
            "250 ENHANCEDSTATUSCODES\r\n");
  EXPECT_EQ(f.client_name(), "client.example");
  EXPECT_EQ(f.on_line("AUTH PLAIN " + std::string(kPlain)).reply,
            "530 5.7.0 Must issue a STARTTLS command first\r\n");
  EXPECT_EQ(f.on_line("AUTH LOGIN").reply, "530 5.7.0 Must issue a STARTTLS command first\r\n");
  EXPECT_EQ(f.on_line("MAIL FROM:<a@b>").reply,
            "530 5.7.0 Must issue a STARTTLS command first\r\n");
  Step s = f.on_line("starttls");
  EXPECT_EQ(s.reply, "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(s.next, Next::StartTls);
  f.tls_started();
  // RFC 3207: the client starts again from EHLO.
  EXPECT_EQ(f.client_name(), "");
  EXPECT_EQ(f.on_line("AUTH PLAIN " + std::string(kPlain)).reply,
            "503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(f.on_line("EHLO again.example").reply,
            "250-Passeur\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n"
            "250 ENHANCEDSTATUSCODES\r\n");
  EXPECT_EQ(f.on_line("STARTTLS").reply, "503 5.5.1 Error: TLS already active\r\n");
  EXPECT_EQ(f.on_line("MAIL FROM:<a@b>").reply, "530 5.7.0 Authentication required\r\n");
  s = f.on_line("AUTH PLAIN " + std::string(kPlain));
  EXPECT_EQ(s.next, Next::Login);
  EXPECT_EQ(s.reply, "");
  EXPECT_EQ(f.credentials().user, "alice");
  EXPECT_EQ(f.credentials().password, "alicepw");
  EXPECT_EQ(f.client_name(), "again.example");
}

TEST(SmtpFront, AuthPlainContinuationAndAuthLogin) {
  SmtpFront f({.tls = true});
  EXPECT_EQ(f.on_line("HELO me").reply, "250 Passeur\r\n");
  EXPECT_EQ(f.on_line("AUTH CRAM-MD5").reply, "504 5.5.4 Unrecognized authentication type\r\n");
  EXPECT_EQ(f.on_line("AUTH").reply, "501 5.5.4 Syntax: AUTH mechanism\r\n");
  EXPECT_EQ(f.on_line("AUTH PLAIN").reply, "334 \r\n");
  EXPECT_EQ(f.on_line("*").reply, "501 5.7.0 Authentication aborted\r\n");
  EXPECT_EQ(f.on_line("AUTH PLAIN").reply, "334 \r\n");
  EXPECT_EQ(f.on_line("not base64!").reply, "501 5.5.2 Cannot decode response\r\n");
  EXPECT_EQ(f.on_line("auth plain").reply, "334 \r\n");
  EXPECT_EQ(f.on_line(kPlain).next, Next::Login);
  EXPECT_EQ(f.credentials().user, "alice");
  f.login_done();
  // AUTH LOGIN: the prompts "Username:" and "Password:".
  EXPECT_EQ(f.on_line("AUTH LOGIN").reply, "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(f.on_line("Ym9i").reply, "334 UGFzc3dvcmQ6\r\n");
  Step s = f.on_line("Ym9iIHB3");
  EXPECT_EQ(s.next, Next::Login);
  EXPECT_EQ(f.credentials().user, "bob");
  EXPECT_EQ(f.credentials().password, "bob pw");
  EXPECT_EQ(f.credentials().authzid, "");
  f.login_done();
  // With the user name as an initial response; "*" cancels at the password too.
  EXPECT_EQ(f.on_line("AUTH LOGIN Ym9i").reply, "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(f.on_line("*").reply, "501 5.7.0 Authentication aborted\r\n");
  EXPECT_EQ(f.on_line("AUTH LOGIN =").reply, "501 5.5.2 Cannot decode response\r\n");
  EXPECT_EQ(f.on_line("RSET").reply, "250 2.0.0 Ok\r\n");
  EXPECT_EQ(f.on_line("NOOP").reply, "250 2.0.0 Ok\r\n");
  s = f.on_line("QUIT");
  EXPECT_EQ(s.reply, "221 2.0.0 Bye\r\n");
  EXPECT_EQ(s.next, Next::Close);
}

TEST(SmtpFront, PlaintextAllowedAndNoStartTls) {
  SmtpFront f({.tls = false, .starttls = false, .allow_plaintext_auth = true});
  EXPECT_EQ(f.on_line("EHLO x").reply,
            "250-Passeur\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n"
            "250 ENHANCEDSTATUSCODES\r\n");
  EXPECT_EQ(f.on_line("STARTTLS").reply, "502 5.5.1 Error: command not implemented\r\n");
  EXPECT_EQ(f.on_line("AUTH PLAIN " + std::string(kPlain)).next, Next::Login);
}

TEST(SmtpFront, BadCommandsUntilClosed) {
  SmtpFront f({.tls = true});
  EXPECT_EQ(f.on_line("EHLO").reply, "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(f.on_line("VRFY alice").reply, "502 5.5.1 Error: command not implemented\r\n");
  EXPECT_EQ(f.on_line("XYZZY").reply, "500 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(f.on_line("DATA").reply, "503 5.5.1 Error: send HELO/EHLO first\r\n");
  Step s;
  for (int i = 0; i < 5; ++i) {
    s = f.on_line("");
    EXPECT_EQ(s.next, Next::Read);
  }
  s = f.on_line("");
  EXPECT_EQ(s.next, Next::Close);
  EXPECT_EQ(s.reply, "421 4.7.0 Too many errors, closing connection\r\n");
}

}  // namespace
}  // namespace proxy::mail
