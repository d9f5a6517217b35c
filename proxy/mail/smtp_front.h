// The SMTP submission dialogue before login (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954,
// enhanced status codes RFC 3463), answered by Passeur itself: greeting, EHLO and HELO,
// STARTTLS, RSET, NOOP, QUIT, AUTH PLAIN (with an initial response or after a "334 "
// continuation) and AUTH LOGIN. Mail transactions (MAIL, RCPT, DATA) wait for a login. Pure:
// lines in, replies and actions out.
//
// Logins in clear text on a connection without TLS are refused unless allowed: AUTH is not
// advertised and answers "530 5.7.0 Must issue a STARTTLS command first" (RFC 3207).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/mail/credentials.h"
#include "proxy/mail/front_step.h"

namespace proxy::mail {

class SmtpFront {
 public:
  static constexpr int kMaxBadCommands = 10;
  static constexpr std::string_view kName = "Passeur";

  struct Options {
    bool tls = false;       // the connection is TLS already (implicit TLS)
    bool starttls = false;  // STARTTLS may be offered (a certificate is there)
    bool allow_plaintext_auth = false;
  };
  explicit SmtpFront(Options o) : o_(o) {}

  static std::string greeting() { return "220 " + std::string(kName) + " ESMTP ready\r\n"; }
  // One line from the client, without its line ending.
  Step on_line(std::string_view line);
  // The STARTTLS handshake is done: the client starts again from EHLO (RFC 3207 4.2).
  void tls_started();
  // The node refused the login (its answer was relayed): back to reading commands.
  void login_done() { state_ = State::Commands; }

  const Credentials& credentials() const { return creds_; }
  // The name the client gave in EHLO or HELO, for Passeur's own EHLO to the node.
  std::string_view client_name() const { return client_name_; }
  bool login_allowed() const { return o_.tls || o_.allow_plaintext_auth; }

  // SMTP has no literals.
  static size_t literal_wanted() { return 0; }
  static Step on_literal(std::string_view) { return {.next = Next::Close}; }

  static std::string_view line_too_long() {
    return "421 4.7.0 Line too long, closing connection\r\n";
  }
  static std::string_view timed_out() { return "421 4.4.2 Disconnected for inactivity\r\n"; }
  static std::string_view too_many_logins() { return "421 4.7.0 Too many failed logins\r\n"; }
  static std::string unavailable() { return "454 4.7.0 Temporary authentication failure\r\n"; }

 private:
  enum class State : uint8_t { Commands, PlainResponse, LoginUser, LoginPassword, LoggingIn };

  Step bad(std::string_view reply);
  Step hello(std::string_view arg, bool extended);
  Step auth(std::string_view arg);
  Step plain(std::string_view response);
  Step sasl_response(std::string_view line);
  std::string extensions() const;

  Options o_;
  State state_ = State::Commands;
  std::string client_name_;  // empty until EHLO or HELO
  int bad_ = 0;
  Credentials creds_;
};

}  // namespace proxy::mail
