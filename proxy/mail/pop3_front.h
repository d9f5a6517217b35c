// The POP3 dialogue before login (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034),
// answered by Passeur itself: greeting, CAPA, STLS, USER and PASS, AUTH PLAIN (with an initial
// response or after a "+ " continuation), QUIT. Pure: lines in, replies and actions out.
//
// Logins in clear text on a connection without TLS are refused unless allowed: USER, PASS
// and SASL are not advertised and a login gets "-ERR [AUTH] ...", as Dovecot does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/mail/credentials.h"
#include "proxy/mail/front_step.h"

namespace proxy::mail {

class Pop3Front {
 public:
  static constexpr int kMaxBadCommands = 10;

  struct Options {
    bool tls = false;       // the connection is TLS already (implicit TLS)
    bool starttls = false;  // STLS may be offered (a certificate is there)
    bool allow_plaintext_auth = false;
  };
  explicit Pop3Front(Options o) : o_(o) {}

  static std::string greeting() { return "+OK Ready.\r\n"; }
  // One line from the client, without its line ending.
  Step on_line(std::string_view line);
  void tls_started() { o_.tls = true; }
  // The node refused the login (its answer was relayed): back to reading commands.
  void login_done() { state_ = State::Commands; }

  const Credentials& credentials() const { return creds_; }
  bool login_allowed() const { return o_.tls || o_.allow_plaintext_auth; }

  // POP3 has no literals.
  static size_t literal_wanted() { return 0; }
  static Step on_literal(std::string_view) { return {.next = Next::Close}; }

  static std::string_view line_too_long() { return "-ERR Line too long.\r\n"; }
  static std::string_view timed_out() { return "-ERR Disconnected for inactivity.\r\n"; }
  static std::string_view too_many_logins() { return "-ERR Too many failed logins.\r\n"; }
  static std::string unavailable() {
    return "-ERR [SYS/TEMP] Account is temporarily unavailable.\r\n";
  }

 private:
  enum class State : uint8_t { Commands, AuthenticateResponse, LoggingIn };

  Step bad(std::string_view text);
  Step authenticate(std::string_view initial);
  std::string capabilities() const;

  Options o_;
  State state_ = State::Commands;
  std::string user_;  // from USER, until PASS
  int bad_ = 0;
  Credentials creds_;
};

}  // namespace proxy::mail
