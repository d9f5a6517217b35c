// Passeur's STARTTLS with a node of a pool with node_tls, before the login (RFC 2595, RFC 3207):
// the node's greeting, its capabilities when the pool's node_tls = "auto" must know whether it
// offers STARTTLS (IMAP CAPABILITY, POP3 CAPA, SMTP EHLO), then the command (IMAP STARTTLS,
// POP3 STLS, SMTP STARTTLS) and the node's go-ahead. The TLS handshake that follows is the
// session's; the login's own dialogue (imap_node_login.h, pop3_node_login.h,
// smtp_node_login.h) then starts from the node's greeting, kept here, as if the node had just
// sent it: IMAP and POP3 send no new greeting after STARTTLS, and SMTP's login dialogue
// answers it with a new EHLO, as RFC 3207 wants after the handshake. Nothing of the login
// went to the node yet: a node that fails here may be replaced by another. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/config/settings.h"

namespace proxy::mail {

struct NodeTlsStep {
  enum class Next : uint8_t {
    More,       // more lines of the node are needed
    Handshake,  // the node said go ahead: the TLS handshake comes next
    Clear,      // node_tls = "auto" and the node does not offer STARTTLS: the login in clear
    Failed,     // the node cannot take the login over TLS (failure() says why)
  };
  std::string to_node;
  Next next = Next::More;
};

class NodeStartTls {
 public:
  static constexpr std::string_view kTag = "PSR0";

  // `client_name`: SMTP's EHLO argument (the name the client gave).
  NodeStartTls(Protocol protocol, routing::NodeTls mode, std::string client_name)
      : protocol_(protocol),
        auto_(mode == routing::NodeTls::Auto),
        client_name_(std::move(client_name)) {}

  // One line from the node, without its line ending.
  NodeTlsStep on_line(std::string_view line);
  // The node's greeting (its last line for SMTP), for the login's dialogue.
  const std::string& greeting() const { return greeting_; }
  // Why the node failed, for the log.
  const std::string& failure() const { return failure_; }

 private:
  enum class State : uint8_t { Greeting, Capabilities, Answer, Done };

  NodeTlsStep on_imap(std::string_view line);
  NodeTlsStep on_pop3(std::string_view line);
  NodeTlsStep on_smtp(std::string_view line);
  NodeTlsStep fail(std::string why, std::string_view line);
  // After the capabilities: STARTTLS when offered (or required), else in clear or a failure.
  NodeTlsStep decide();
  NodeTlsStep start();

  Protocol protocol_;
  bool auto_;
  std::string client_name_;
  std::string greeting_;
  std::string failure_;
  State state_ = State::Greeting;
  bool offered_ = false;     // the node's capabilities list STARTTLS (STLS)
  bool capa_begun_ = false;  // POP3: CAPA's +OK came
};

}  // namespace proxy::mail
