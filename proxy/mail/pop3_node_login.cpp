#include "proxy/mail/pop3_node_login.h"

#include "proxy/mail/sasl.h"

namespace proxy::mail {
namespace {

bool is_ok(std::string_view line) {
  return line.starts_with("+OK") && (line.size() == 3 || line[3] == ' ');
}

}  // namespace

NodeStep Pop3NodeLogin::on_line(std::string_view line) {
  NodeStep s;
  switch (state_) {
    case State::Greeting:
      if (!is_ok(line)) break;
      s.to_node = "AUTH PLAIN " + encode_plain(creds_) + "\r\n";
      state_ = State::LoginAnswer;
      return s;
    case State::LoginAnswer:
      if (line.starts_with("+ ") || line == "+") {
        // The node wants more than the initial response: cancelled, its -ERR ends the login.
        s.to_node = "*\r\n";
        return s;
      }
      s.to_client.append(line).append("\r\n");
      s.done = true;
      s.result = is_ok(line) ? LoginResult::Ok : LoginResult::Refused;
      state_ = State::Done;
      return s;
    case State::Done:
      break;
  }
  state_ = State::Done;
  s.done = true;
  s.result = LoginResult::Failed;
  return s;
}

}  // namespace proxy::mail
