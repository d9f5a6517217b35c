// Passeur's side of the SMTP dialogue with a node, before the relay: the node's greeting (220,
// possibly on several lines), EHLO with the name the client gave, the node's extensions (it
// must offer AUTH PLAIN), then the client's login replayed as AUTH PLAIN with an initial
// response (RFC 4954). The node's answer to AUTH (235, or 535, 454... on one or more lines)
// goes to the client unchanged. A node that does not greet with 220 or refuses the EHLO never
// saw the login: the session may move to another node (login_sent()). Pure.
//
// With the client's address to pass on (a pool with xclient = true), Postfix's XCLIENT comes
// between the EHLO and the AUTH (proxy/mail/xclient.h): the node's new 220 greeting, then EHLO
// again. A node that does not offer XCLIENT with ADDR, or refuses the command, is not able to
// take the login safely: it fails before the login, and unsent_reason() says why.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/mail/client_address.h"
#include "proxy/mail/credentials.h"
#include "proxy/mail/imap_node_login.h"

namespace proxy::mail {

class SmtpNodeLogin {
 public:
  // `client_name`: the client's EHLO or HELO argument. `xclient`: the client's address, told
  // to the node with XCLIENT before the login.
  SmtpNodeLogin(std::string client_name, Credentials creds,
                std::optional<ClientAddress> xclient = std::nullopt)
      : client_name_(std::move(client_name)),
        creds_(std::move(creds)),
        xclient_(std::move(xclient)) {}

  // One line from the node, without its line ending.
  NodeStep on_line(std::string_view line);
  // The AUTH command went to the node: a failure from then on is the login's.
  bool login_sent() const { return login_sent_; }
  // Why the node was left before the login, when it is its XCLIENT; empty otherwise.
  std::string_view unsent_reason() const { return unsent_reason_; }

 private:
  enum class State : uint8_t { Greeting, Extensions, XclientAnswer, LoginAnswer, Done };

  NodeStep failed();
  // The node's EHLO answer is complete and the XCLIENT is still to send: the command, or the
  // failure of a node that does not offer it.
  NodeStep send_xclient();
  // A line of the node's answer to XCLIENT: its new greeting (220), then EHLO again.
  NodeStep on_xclient_answer(int code, bool last, std::string_view line);

  std::string client_name_;
  Credentials creds_;
  State state_ = State::Greeting;
  bool auth_plain_ = false;  // the node's EHLO answer offers AUTH PLAIN
  bool login_sent_ = false;
  std::optional<ClientAddress> xclient_;                   // reset once the XCLIENT is sent
  std::optional<std::vector<std::string>> xclient_offer_;  // the node's XCLIENT attributes
  std::string unsent_reason_;
};

}  // namespace proxy::mail
