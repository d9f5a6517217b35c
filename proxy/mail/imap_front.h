// The IMAP dialogue before login (RFC 9051 / 3501), answered by Passeur itself: greeting,
// CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN and AUTHENTICATE PLAIN (with an initial
// response, SASL-IR, or after a "+ " continuation). Literals ({n} with a "+ " continuation,
// {n+} without) in command arguments. Pure: lines and literals in, replies and actions out.
//
// Logins in clear text on a connection without TLS are refused unless allowed: LOGINDISABLED
// is advertised and LOGIN / AUTHENTICATE answer NO [PRIVACYREQUIRED], as Dovecot does.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/mail/credentials.h"
#include "proxy/mail/front_step.h"

namespace proxy::mail {

class ImapFront {
 public:
  static constexpr size_t kMaxLiteral = 8 * 1024;  // a user name or a password
  static constexpr int kMaxBadCommands = 10;       // then "* BYE" (Dovecot's limit)

  struct Options {
    bool tls = false;       // the connection is TLS already (implicit TLS)
    bool starttls = false;  // STARTTLS may be offered (a certificate is there)
    bool allow_plaintext_auth = false;
  };
  explicit ImapFront(Options o) : o_(o) {}

  std::string greeting() const;
  // One line from the client, without its line ending.
  Step on_line(std::string_view line);
  // When not 0: the next this many bytes are a literal, for on_literal(), not a line.
  size_t literal_wanted() const { return literal_; }
  Step on_literal(std::string_view bytes);
  // The STARTTLS handshake is done: logins are allowed now.
  void tls_started() { o_.tls = true; }
  // The node refused the login (its answer was relayed): back to reading commands.
  void login_done() { state_ = State::Commands; }

  const Credentials& credentials() const { return creds_; }
  // The client's address as it announced it in its last ID (RFC 2971) "x-originating-ip"
  // field, as a webmail does for its users; empty when none. Only worth anything from a
  // trusted source: the login shield decides.
  const std::string& announced_ip() const { return announced_ip_; }
  std::string_view tag() const { return tag_; }
  bool login_allowed() const { return o_.tls || o_.allow_plaintext_auth; }

  // Replies for the session's own reasons to close.
  static std::string_view line_too_long() { return "* BYE Line too long.\r\n"; }
  static std::string_view timed_out() { return "* BYE Disconnected for inactivity.\r\n"; }
  static std::string_view too_many_logins() { return "* BYE Too many failed logins.\r\n"; }
  std::string unavailable() const;  // no node could take the login

 private:
  enum class State : uint8_t { Commands, AuthenticateResponse, LoggingIn };

  Step command();  // a complete command in args_
  Step bad(std::string_view text);
  Step authenticate(std::string_view initial);
  std::string capabilities() const;

  Options o_;
  State state_ = State::Commands;
  std::string tag_;
  std::vector<std::string> args_;  // the command name and its arguments so far
  size_t literal_ = 0;             // bytes of a literal still to come
  int bad_ = 0;
  Credentials creds_;
  std::string announced_ip_;
};

// The fields of an ID command's argument: ("name" "value" ...) with quoted strings or NIL
// values, names lower-cased; NIL or anything else (literals included): none.
std::vector<std::pair<std::string, std::string>> parse_id_fields(std::string_view arg);

}  // namespace proxy::mail
