// Passeur's side of the SMTP dialogue with a node, before the relay: the node's greeting (220,
// possibly on several lines), EHLO with the name the client gave, the node's extensions (it
// must offer AUTH PLAIN), then the client's login replayed as AUTH PLAIN with an initial
// response (RFC 4954). The node's answer to AUTH (235, or 535, 454... on one or more lines)
// goes to the client unchanged. A node that does not greet with 220 or refuses the EHLO never
// saw the login: the session may move to another node (login_sent()). Pure.
#pragma once

#include <string>
#include <string_view>

#include "proxy/mail/credentials.h"
#include "proxy/mail/imap_node_login.h"

namespace proxy::mail {

class SmtpNodeLogin {
 public:
  // `client_name`: the client's EHLO or HELO argument.
  SmtpNodeLogin(std::string client_name, Credentials creds)
      : client_name_(std::move(client_name)), creds_(std::move(creds)) {}

  // One line from the node, without its line ending.
  NodeStep on_line(std::string_view line);
  // The AUTH command went to the node: a failure from then on is the login's.
  bool login_sent() const { return login_sent_; }

 private:
  enum class State : uint8_t { Greeting, Extensions, LoginAnswer, Done };

  NodeStep failed();

  std::string client_name_;
  Credentials creds_;
  State state_ = State::Greeting;
  bool auth_plain_ = false;  // the node's EHLO answer offers AUTH PLAIN
  bool login_sent_ = false;
};

}  // namespace proxy::mail
