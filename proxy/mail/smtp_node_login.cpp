#include "proxy/mail/smtp_node_login.h"

#include <cctype>
#include <optional>

#include "proxy/mail/sasl.h"
#include "proxy/mail/xclient.h"

namespace proxy::mail {
namespace {

// A reply line: three digits, then " " on the last line of the reply (or nothing), "-" on the
// others.
struct Reply {
  int code = 0;
  bool last = false;
  std::string_view text;
};

std::optional<Reply> parse(std::string_view line) {
  if (line.size() < 3) return std::nullopt;
  for (size_t i = 0; i < 3; ++i)
    if (!std::isdigit(static_cast<unsigned char>(line[i]))) return std::nullopt;
  Reply r{.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0')};
  if (line.size() == 3) {
    r.last = true;
  } else if (line[3] == ' ' || line[3] == '-') {
    r.last = line[3] == ' ';
    r.text = line.substr(4);
  } else {
    return std::nullopt;
  }
  return r;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// "AUTH PLAIN LOGIN" (or the old "AUTH=PLAIN LOGIN"): whether PLAIN is among the mechanisms.
bool offers_plain(std::string_view extension) {
  const std::string e = upper(extension);
  if (!e.starts_with("AUTH ") && !e.starts_with("AUTH=")) return false;
  std::string_view rest = std::string_view(e).substr(5);
  while (!rest.empty()) {
    const size_t sp = rest.find(' ');
    if (rest.substr(0, sp) == "PLAIN") return true;
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  return false;
}

}  // namespace

NodeStep SmtpNodeLogin::failed() {
  state_ = State::Done;
  return {.done = true, .result = LoginResult::Failed};
}

NodeStep SmtpNodeLogin::on_line(std::string_view line) {
  const std::optional<Reply> r = parse(line);
  if (!r || state_ == State::Done) return failed();
  NodeStep s;
  switch (state_) {
    case State::Greeting:
      if (r->code != 220) return failed();
      if (!r->last) return s;
      s.to_node = "EHLO " + client_name_ + "\r\n";
      state_ = State::Extensions;
      return s;
    case State::Extensions:
      if (r->code != 250) return failed();
      if (offers_plain(r->text)) auth_plain_ = true;
      if (xclient_ && !xclient_offer_) xclient_offer_ = xclient_offer(r->text);
      if (!r->last) return s;
      if (xclient_) return send_xclient();
      if (!auth_plain_) return failed();
      s.to_node = "AUTH PLAIN " + encode_plain(creds_) + "\r\n";
      state_ = State::LoginAnswer;
      login_sent_ = true;
      return s;
    case State::XclientAnswer:
      return on_xclient_answer(r->code, r->last, line);
    case State::LoginAnswer:
      if (r->code == 334) {
        // The node wants more than the initial response: cancelled, its 501 ends the login.
        s.to_node = "*\r\n";
        return s;
      }
      // A node that closes the connection (421) failed; its other answers are the login's.
      if (r->code == 421) return failed();
      s.to_client.append(line).append("\r\n");
      if (!r->last) return s;
      s.done = true;
      s.result = r->code == 235 ? LoginResult::Ok : LoginResult::Refused;
      state_ = State::Done;
      return s;
    case State::Done:
      break;
  }
  return failed();
}

NodeStep SmtpNodeLogin::send_xclient() {
  const std::string command =
      xclient_offer_ ? xclient_command(*xclient_, client_name_, *xclient_offer_) : std::string();
  if (command.empty()) {
    unsent_reason_ = xclient_offer_ ? "the node's XCLIENT does not take ADDR"
                                    : "the node does not offer XCLIENT (is Passeur's address in "
                                      "its smtpd_authorized_xclient_hosts?)";
    NodeStep s = failed();
    s.to_node = "QUIT\r\n";
    return s;
  }
  xclient_.reset();
  xclient_offer_.reset();
  auth_plain_ = false;
  state_ = State::XclientAnswer;
  NodeStep s;
  s.to_node = command;
  return s;
}

NodeStep SmtpNodeLogin::on_xclient_answer(int code, bool last, std::string_view line) {
  // 220: the node starts the session again, as from the client's address (Postfix since 2.3);
  // 250: an older node that just took the attributes. EHLO again either way.
  if (code != 220 && code != 250) {
    unsent_reason_ = "the node refused XCLIENT: " + std::string(line);
    return failed();
  }
  if (!last) return {};
  state_ = State::Extensions;
  NodeStep s;
  s.to_node = "EHLO " + client_name_ + "\r\n";
  return s;
}

}  // namespace proxy::mail
