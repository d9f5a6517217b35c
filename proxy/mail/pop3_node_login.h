// Passeur's side of the POP3 dialogue with a node, before the relay: the node's greeting, then
// the client's login replayed as AUTH PLAIN with an initial response (RFC 5034). The node's
// answer (+OK or -ERR with its response code) goes to the client unchanged. Pure.
#pragma once

#include <string>
#include <string_view>

#include "proxy/mail/credentials.h"
#include "proxy/mail/imap_node_login.h"

namespace proxy::mail {

class Pop3NodeLogin {
 public:
  explicit Pop3NodeLogin(Credentials creds) : creds_(std::move(creds)) {}

  // One line from the node, without its line ending.
  NodeStep on_line(std::string_view line);

 private:
  enum class State : uint8_t { Greeting, LoginAnswer, Done };

  Credentials creds_;
  State state_ = State::Greeting;
};

}  // namespace proxy::mail
