#include "proxy/mail/pop3_front.h"

#include <cctype>

#include "proxy/mail/sasl.h"

namespace proxy::mail {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

constexpr std::string_view kPrivacy =
    "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n";

}  // namespace

std::string Pop3Front::capabilities() const {
  std::string c = "+OK\r\nCAPA\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n";
  if (!o_.tls && o_.starttls) c += "STLS\r\n";
  if (login_allowed()) c += "USER\r\nSASL PLAIN\r\n";
  return c + ".\r\n";
}

Step Pop3Front::bad(std::string_view text) {
  Step s{.reply = "-ERR " + std::string(text) + "\r\n"};
  if (++bad_ >= kMaxBadCommands) {
    s.reply = "-ERR Too many invalid commands.\r\n";
    s.next = Next::Close;
  }
  return s;
}

Step Pop3Front::authenticate(std::string_view initial) {
  auto c = decode_plain(initial);
  if (!c) return bad("Invalid AUTH PLAIN response.");
  creds_ = std::move(*c);
  state_ = State::LoggingIn;
  return {.next = Next::Login};
}

Step Pop3Front::on_line(std::string_view line) {
  if (state_ == State::LoggingIn) return {.next = Next::Close};
  if (state_ == State::AuthenticateResponse) {
    state_ = State::Commands;
    if (line == "*") return {.reply = "-ERR Authentication aborted by client.\r\n"};
    return authenticate(line);
  }
  const size_t sp = line.find(' ');
  const std::string name = upper(line.substr(0, sp));
  const std::string_view arg = sp == std::string_view::npos ? "" : line.substr(sp + 1);
  if (name == "CAPA" && arg.empty()) return {.reply = capabilities()};
  if (name == "QUIT" && arg.empty()) return {.reply = "+OK Logging out.\r\n", .next = Next::Close};
  if (name == "STLS" && arg.empty()) {
    if (o_.tls) return bad("TLS is already active.");
    if (!o_.starttls) return bad("STLS is not available.");
    return {.reply = "+OK Begin TLS negotiation now.\r\n", .next = Next::StartTls};
  }
  if (name == "USER") {
    if (!login_allowed()) return {.reply = std::string(kPrivacy)};
    if (arg.empty()) return bad("USER: a user name is needed.");
    user_ = arg;
    return {.reply = "+OK\r\n"};
  }
  if (name == "PASS") {
    if (!login_allowed()) return {.reply = std::string(kPrivacy)};
    if (user_.empty()) return bad("No USER given.");
    // The password is the rest of the line: it may hold spaces.
    creds_ = Credentials{.user = std::move(user_), .password = std::string(arg)};
    user_.clear();
    state_ = State::LoggingIn;
    return {.next = Next::Login};
  }
  if (name == "AUTH") {
    if (arg.empty()) return {.reply = "+OK\r\nPLAIN\r\n.\r\n"};
    const size_t msp = arg.find(' ');
    if (upper(arg.substr(0, msp)) != "PLAIN")
      return {.reply = "-ERR Unsupported authentication mechanism.\r\n"};
    if (!login_allowed()) return {.reply = std::string(kPrivacy)};
    if (msp != std::string_view::npos) return authenticate(arg.substr(msp + 1));
    state_ = State::AuthenticateResponse;
    return {.reply = "+ \r\n"};
  }
  return bad("Unknown command.");
}

}  // namespace proxy::mail
