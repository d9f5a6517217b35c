#include "proxy/mail/smtp_front.h"

#include <cctype>

#include "proxy/mail/sasl.h"

namespace proxy::mail {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

constexpr std::string_view kOk = "250 2.0.0 Ok\r\n";
constexpr std::string_view kHelloFirst = "503 5.5.1 Error: send HELO/EHLO first\r\n";
constexpr std::string_view kTlsFirst = "530 5.7.0 Must issue a STARTTLS command first\r\n";
constexpr std::string_view kAuthFirst = "530 5.7.0 Authentication required\r\n";
constexpr std::string_view kAborted = "501 5.7.0 Authentication aborted\r\n";
constexpr std::string_view kUndecodable = "501 5.5.2 Cannot decode response\r\n";
// AUTH LOGIN's prompts: "Username:" and "Password:" in base64.
constexpr std::string_view kUserPrompt = "334 VXNlcm5hbWU6\r\n";
constexpr std::string_view kPasswordPrompt = "334 UGFzc3dvcmQ6\r\n";

}  // namespace

void SmtpFront::tls_started() {
  o_.tls = true;
  client_name_.clear();
  state_ = State::Commands;
}

std::string SmtpFront::extensions() const {
  std::string e = "250-" + std::string(kName) + "\r\n250-PIPELINING\r\n250-8BITMIME\r\n";
  if (!o_.tls && o_.starttls) e += "250-STARTTLS\r\n";
  if (login_allowed()) e += "250-AUTH PLAIN LOGIN\r\n";
  return e + "250 ENHANCEDSTATUSCODES\r\n";
}

Step SmtpFront::bad(std::string_view reply) {
  Step s{.reply = std::string(reply)};
  if (++bad_ >= kMaxBadCommands) {
    s.reply = "421 4.7.0 Too many errors, closing connection\r\n";
    s.next = Next::Close;
  }
  return s;
}

Step SmtpFront::hello(std::string_view arg, bool extended) {
  arg = trim(arg);
  const std::string_view name = arg.substr(0, arg.find(' '));
  if (name.empty())
    return bad(extended ? "501 5.5.4 Syntax: EHLO hostname\r\n"
                        : "501 5.5.4 Syntax: HELO hostname\r\n");
  client_name_ = name;
  if (!extended) return {.reply = "250 " + std::string(kName) + "\r\n"};
  return {.reply = extensions()};
}

Step SmtpFront::plain(std::string_view response) {
  auto c = decode_plain(response);
  if (!c) return bad(kUndecodable);
  creds_ = std::move(*c);
  state_ = State::LoggingIn;
  return {.next = Next::Login};
}

Step SmtpFront::auth(std::string_view arg) {
  arg = trim(arg);
  if (arg.empty()) return bad("501 5.5.4 Syntax: AUTH mechanism\r\n");
  if (client_name_.empty()) return bad(kHelloFirst);
  const size_t sp = arg.find(' ');
  const std::string mechanism = upper(arg.substr(0, sp));
  const std::string_view initial = sp == std::string_view::npos ? "" : trim(arg.substr(sp + 1));
  if (mechanism != "PLAIN" && mechanism != "LOGIN")
    return bad("504 5.5.4 Unrecognized authentication type\r\n");
  if (!login_allowed()) return bad(kTlsFirst);
  creds_ = {};
  if (mechanism == "PLAIN") {
    if (!initial.empty()) return plain(initial);
    state_ = State::PlainResponse;
    return {.reply = "334 \r\n"};
  }
  if (initial.empty()) {
    state_ = State::LoginUser;
    return {.reply = std::string(kUserPrompt)};
  }
  // RFC 4954 lets AUTH LOGIN carry the user name as an initial response.
  auto user = base64_decode(initial);
  if (!user || user->empty()) return bad(kUndecodable);
  creds_.user = std::move(*user);
  state_ = State::LoginPassword;
  return {.reply = std::string(kPasswordPrompt)};
}

Step SmtpFront::sasl_response(std::string_view line) {
  const State was = state_;
  state_ = State::Commands;
  if (line == "*") return bad(kAborted);
  if (was == State::PlainResponse) return plain(line);
  auto text = base64_decode(line);
  if (!text) return bad(kUndecodable);
  if (was == State::LoginUser) {
    if (text->empty() || text->find('\0') != std::string::npos) return bad(kUndecodable);
    creds_.user = std::move(*text);
    state_ = State::LoginPassword;
    return {.reply = std::string(kPasswordPrompt)};
  }
  if (text->find('\0') != std::string::npos) return bad(kUndecodable);
  creds_.password = std::move(*text);
  state_ = State::LoggingIn;
  return {.next = Next::Login};
}

Step SmtpFront::on_line(std::string_view line) {
  switch (state_) {
    case State::LoggingIn:
      return {.next = Next::Close};
    case State::PlainResponse:
    case State::LoginUser:
    case State::LoginPassword:
      return sasl_response(line);
    case State::Commands:
      break;
  }
  const size_t sp = line.find(' ');
  const std::string name = upper(line.substr(0, sp));
  const std::string_view arg = sp == std::string_view::npos ? "" : line.substr(sp + 1);
  if (name == "EHLO") return hello(arg, true);
  if (name == "HELO") return hello(arg, false);
  if (name == "NOOP") return {.reply = std::string(kOk)};
  if (name == "RSET") {
    if (!trim(arg).empty()) return bad("501 5.5.4 Syntax: RSET\r\n");
    return {.reply = std::string(kOk)};
  }
  if (name == "QUIT") return {.reply = "221 2.0.0 Bye\r\n", .next = Next::Close};
  if (name == "STARTTLS") {
    if (!trim(arg).empty()) return bad("501 5.5.4 Syntax: STARTTLS\r\n");
    if (o_.tls) return bad("503 5.5.1 Error: TLS already active\r\n");
    if (!o_.starttls) return bad("502 5.5.1 Error: command not implemented\r\n");
    return {.reply = "220 2.0.0 Ready to start TLS\r\n", .next = Next::StartTls};
  }
  if (name == "AUTH") return auth(arg);
  if (name == "MAIL" || name == "RCPT" || name == "DATA" || name == "BDAT") {
    if (client_name_.empty()) return bad(kHelloFirst);
    return bad(login_allowed() ? kAuthFirst : kTlsFirst);
  }
  if (name == "VRFY" || name == "EXPN" || name == "HELP" || name == "ETRN" || name == "TURN")
    return bad("502 5.5.1 Error: command not implemented\r\n");
  return bad("500 5.5.2 Error: command not recognized\r\n");
}

}  // namespace proxy::mail
