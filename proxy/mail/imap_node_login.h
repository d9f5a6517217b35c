// Passeur's side of the IMAP dialogue with a node, before the relay: the node's greeting, then
// (when the pool asks) an ID command carrying the client's address (x-originating-ip/port,
// x-connected-ip/port, which Dovecot takes from login_trusted_networks), then the client's
// login replayed as AUTHENTICATE PLAIN with an initial response under the client's own tag.
// The node's answer to the login (untagged lines, then the tagged OK/NO/BAD with its response
// codes) goes to the client unchanged. Pure: the node's lines in, bytes for each side out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/mail/client_address.h"
#include "proxy/mail/credentials.h"
#include "proxy/mail/login_result.h"

namespace proxy::mail {

struct NodeStep {
  std::string to_node;
  std::string to_client;
  bool done = false;  // the login's answer is complete: `result` says how it ended
  LoginResult result = LoginResult::None;
};

class ImapNodeLogin {
 public:
  static constexpr std::string_view kIdTag = "PSR1";

  // `id`: send the ID command with these addresses first.
  ImapNodeLogin(std::string tag, Credentials creds, std::optional<ClientAddress> id)
      : tag_(std::move(tag)), creds_(std::move(creds)), id_(std::move(id)) {}

  // One line from the node, without its line ending.
  NodeStep on_line(std::string_view line);

 private:
  enum class State : uint8_t { Greeting, IdAnswer, LoginAnswer, Done };

  std::string tag_;
  Credentials creds_;
  std::optional<ClientAddress> id_;
  State state_ = State::Greeting;
};

// The ID command that tells a node where the client is.
std::string imap_id_command(std::string_view tag, const ClientAddress& a);

}  // namespace proxy::mail
