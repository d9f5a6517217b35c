#include "proxy/mail/imap_node_login.h"

#include "proxy/mail/imap_status.h"
#include "proxy/mail/sasl.h"

namespace proxy::mail {
namespace {

bool starts_with_word(std::string_view line, std::string_view word) {
  return line.size() > word.size() && line.substr(0, word.size()) == word &&
         line[word.size()] == ' ';
}

}  // namespace

std::string imap_id_command(std::string_view tag, const ClientAddress& a) {
  std::string c(tag);
  c += " ID (\"x-originating-ip\" \"" + a.ip + "\" \"x-originating-port\" \"" +
       std::to_string(a.port) + "\" \"x-connected-ip\" \"" + a.local_ip +
       "\" \"x-connected-port\" \"" + std::to_string(a.local_port) + "\")\r\n";
  return c;
}

NodeStep ImapNodeLogin::on_line(std::string_view line) {
  NodeStep s;
  switch (state_) {
    case State::Greeting:
      if (!line.starts_with("* ") || !imap_status_is(line.substr(2), "OK")) {
        s.done = true;
        s.result = LoginResult::Failed;
        state_ = State::Done;
        return s;
      }
      // Pipelined: ID's answer comes before the login's.
      if (id_) s.to_node = imap_id_command(kIdTag, *id_);
      s.to_node += tag_ + " AUTHENTICATE PLAIN " + encode_plain(creds_) + "\r\n";
      state_ = id_ ? State::IdAnswer : State::LoginAnswer;
      return s;
    case State::IdAnswer:
      // "* ID ..." and the tagged completion are Passeur's own: not relayed.
      if (starts_with_word(line, kIdTag)) state_ = State::LoginAnswer;
      return s;
    case State::LoginAnswer:
      if (!line.empty() && line[0] == '+') {
        // The node wants more than the initial response: cancelled, its BAD ends the login.
        s.to_node = "*\r\n";
        return s;
      }
      s.to_client.append(line).append("\r\n");
      if (starts_with_word(line, tag_)) {
        std::string_view rest = line.substr(tag_.size() + 1);
        s.done = true;
        s.result = imap_status_is(rest, "OK") ? LoginResult::Ok : LoginResult::Refused;
        state_ = State::Done;
      }
      return s;
    case State::Done:
      break;
  }
  s.done = true;
  s.result = LoginResult::Failed;
  return s;
}

}  // namespace proxy::mail
