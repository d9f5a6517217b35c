#include "proxy/mail/imap_front.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <utility>

#include "proxy/mail/sasl.h"

namespace proxy::mail {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// RFC 9051 tag: ASTRING-CHAR except "+"; atoms exclude "(" ")" "{" SP CTL "%" "*" DQUOTE "\".
bool atom_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  return std::string_view("(){%*\"\\").find(c) == std::string_view::npos;
}

bool valid_tag(std::string_view t) {
  return !t.empty() && std::all_of(t.begin(), t.end(),
                                   [](char c) { return c != '+' && (atom_char(c) || c == ']'); });
}

enum class Parsed : uint8_t { Complete, Literal, Error };

// Splits the arguments of one line into `out`: atoms, quoted strings, and at the very end a
// literal announcement {n} or {n+} (its size and kind in `literal` and `sync`).
Parsed parse_args(std::string_view s, std::vector<std::string>& out, size_t& literal, bool& sync) {
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != ' ') return Parsed::Error;
    ++i;
    if (i == s.size()) return Parsed::Error;
    if (s[i] == '"') {
      std::string v;
      ++i;
      for (;;) {
        if (i == s.size()) return Parsed::Error;
        char c = s[i++];
        if (c == '"') break;
        if (c == '\\') {
          if (i == s.size() || (s[i] != '"' && s[i] != '\\')) return Parsed::Error;
          c = s[i++];
        }
        v.push_back(c);
      }
      out.push_back(std::move(v));
    } else if (s[i] == '{') {
      const size_t close = s.find('}', i);
      if (close != s.size() - 1) return Parsed::Error;
      std::string_view n = s.substr(i + 1, close - i - 1);
      sync = true;
      if (!n.empty() && n.back() == '+') {
        sync = false;
        n.remove_suffix(1);
      }
      auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), literal);
      if (n.empty() || ec != std::errc() || end != n.data() + n.size()) return Parsed::Error;
      return Parsed::Literal;
    } else {
      const size_t start = i;
      while (i < s.size() && s[i] != ' ') {
        if (!atom_char(s[i]) && s[i] != ']') return Parsed::Error;
        ++i;
      }
      out.emplace_back(s.substr(start, i - start));
    }
  }
  return Parsed::Complete;
}

}  // namespace

std::string ImapFront::capabilities() const {
  std::string c = "IMAP4rev1 SASL-IR LITERAL+ ID";
  if (!o_.tls && o_.starttls) c += " STARTTLS";
  c += login_allowed() ? " AUTH=PLAIN" : " LOGINDISABLED";
  return c;
}

std::string ImapFront::greeting() const {
  return "* OK [CAPABILITY " + capabilities() + "] Ready.\r\n";
}

std::string ImapFront::unavailable() const {
  return tag_ + " NO [UNAVAILABLE] Account is temporarily unavailable.\r\n";
}

Step ImapFront::bad(std::string_view text) {
  Step s{.reply = std::string(tag_.empty() ? "*" : tag_) + " BAD " + std::string(text) + "\r\n"};
  args_.clear();
  literal_ = 0;
  if (++bad_ >= kMaxBadCommands) {
    s.reply += "* BYE Too many invalid IMAP commands.\r\n";
    s.next = Next::Close;
  }
  return s;
}

std::vector<std::pair<std::string, std::string>> parse_id_fields(std::string_view arg) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  auto space = [&] {
    while (i < arg.size() && arg[i] == ' ') ++i;
  };
  // A quoted string (with \" and \\ escapes) or NIL (nullopt: neither, or malformed).
  auto value = [&]() -> std::optional<std::optional<std::string>> {
    space();
    if (arg.substr(i, 3) == "NIL" || arg.substr(i, 3) == "nil") {
      i += 3;
      return std::optional<std::string>();
    }
    if (i >= arg.size() || arg[i] != '"') return std::nullopt;
    std::string v;
    for (++i; i < arg.size(); ++i) {
      if (arg[i] == '"') {
        ++i;
        return std::optional<std::string>(std::move(v));
      }
      if (arg[i] == '\\' && i + 1 < arg.size()) ++i;
      v += arg[i];
    }
    return std::nullopt;
  };
  space();
  if (i >= arg.size() || arg[i] != '(') return {};
  ++i;
  for (;;) {
    space();
    if (i < arg.size() && arg[i] == ')') return out;
    auto name = value();
    if (!name || !*name) return {};
    auto v = value();
    if (!v) return {};
    std::string key = std::move(**name);
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.emplace_back(std::move(key), v->value_or(""));
  }
}

Step ImapFront::on_line(std::string_view line) {
  if (state_ == State::LoggingIn) return {.next = Next::Close};
  if (state_ == State::AuthenticateResponse) {
    state_ = State::Commands;
    if (line == "*") return {.reply = tag_ + " BAD Authentication aborted by client.\r\n"};
    return authenticate(line);
  }
  std::string_view rest = line;
  if (args_.empty()) {
    // A new command: its tag and name.
    tag_.clear();
    const size_t sp = line.find(' ');
    std::string_view tag = line.substr(0, sp);
    if (sp == std::string_view::npos || !valid_tag(tag))
      return bad("Error in IMAP command received by server.");
    tag_ = tag;
    rest = line.substr(sp + 1);
    const size_t end = rest.find(' ');
    std::string_view name = rest.substr(0, end);
    if (name.empty() || !std::all_of(name.begin(), name.end(), atom_char))
      return bad("Error in IMAP command received by server.");
    args_.push_back(upper(name));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    // ID's list is read for the address a webmail announces, then answered.
    if (args_[0] == "ID") {
      for (auto& [name, value] : parse_id_fields(rest))
        if (name == "x-originating-ip") announced_ip_ = std::move(value);
      return command();
    }
  }
  bool sync = true;
  switch (parse_args(rest, args_, literal_, sync)) {
    case Parsed::Error:
      return bad("Error in IMAP command " + args_[0] + ": Invalid arguments.");
    case Parsed::Complete:
      return command();
    case Parsed::Literal:
      break;
  }
  if (literal_ > kMaxLiteral || args_.size() > 3) {
    // The client may send a non-synchronizing literal at once: nothing more can be read.
    literal_ = 0;
    return {.reply = "* BYE Literal too large.\r\n", .next = Next::Close};
  }
  if (literal_ == 0) args_.emplace_back();  // {0}: the empty string, nothing to read
  return {.reply = sync ? "+ OK\r\n" : ""};
}

Step ImapFront::on_literal(std::string_view bytes) {
  literal_ = 0;
  args_.emplace_back(bytes);
  return {};
}

Step ImapFront::authenticate(std::string_view initial) {
  auto c = decode_plain(initial);
  if (!c) return bad("Invalid AUTHENTICATE PLAIN response.");
  creds_ = std::move(*c);
  state_ = State::LoggingIn;
  return {.next = Next::Login};
}

Step ImapFront::command() {
  std::vector<std::string> args = std::move(args_);
  args_.clear();
  const std::string& name = args[0];
  const size_t n = args.size() - 1;
  if (name == "CAPABILITY" && n == 0)
    return {.reply = "* CAPABILITY " + capabilities() + "\r\n" + tag_ +
                     " OK Pre-login capabilities listed, post-login capabilities have more.\r\n"};
  if (name == "NOOP" && n == 0) return {.reply = tag_ + " OK NOOP completed.\r\n"};
  if (name == "LOGOUT" && n == 0)
    return {.reply = "* BYE Logging out\r\n" + tag_ + " OK Logout completed.\r\n",
            .next = Next::Close};
  if (name == "ID") return {.reply = "* ID NIL\r\n" + tag_ + " OK ID completed.\r\n"};
  if (name == "STARTTLS" && n == 0) {
    if (o_.tls) return bad("TLS is already active.");
    if (!o_.starttls) return bad("STARTTLS is not available.");
    return {.reply = tag_ + " OK Begin TLS negotiation now.\r\n", .next = Next::StartTls};
  }
  const bool login = name == "LOGIN" && n == 2;
  const bool auth = name == "AUTHENTICATE" && (n == 1 || n == 2);
  if (!login && !auth) {
    if (name == "LOGIN" || name == "AUTHENTICATE" || name == "CAPABILITY" || name == "NOOP" ||
        name == "LOGOUT" || name == "STARTTLS")
      return bad("Error in IMAP command " + name + ": Invalid arguments.");
    return bad("Error in IMAP command " + name + ": Unknown command or not allowed before login.");
  }
  if (auth && upper(args[1]) != "PLAIN")
    return {.reply = tag_ + " NO Unsupported authentication mechanism.\r\n"};
  if (!login_allowed())
    return {.reply = tag_ +
                     " NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure "
                     "(SSL/TLS) connections.\r\n"};
  if (auth) {
    if (n == 2) return authenticate(args[2]);
    state_ = State::AuthenticateResponse;
    return {.reply = "+ \r\n"};
  }
  if (args[1].empty()) return bad("Error in IMAP command LOGIN: Empty user name.");
  creds_ = Credentials{.user = std::move(args[1]), .password = std::move(args[2])};
  state_ = State::LoggingIn;
  return {.next = Next::Login};
}

}  // namespace proxy::mail
