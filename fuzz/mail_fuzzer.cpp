// The mail fronts' pre-login dialogues (IMAP, POP3, SMTP: proxy/mail/*_front.h), their node
// sides (*_node_login.h), SASL PLAIN included, and Passeur's STARTTLS with a node
// (node_starttls.h), fed as the mail session feeds them.
//
// The first byte picks the dialogue and its options; the rest is split into lines at "\n" (a
// trailing "\r" dropped, as the line buffer does). A front's literals are fed the bytes that
// follow, as many as it asks for. Invariants: every reply ends with CRLF; a front never asks
// for a login before TLS unless plaintext logins are allowed; once it says Close it is fed
// nothing more; a node side that says done has a result, and what it sends the node ends with
// CRLF; the node's STARTTLS goes to the handshake or on in clear only after a greeting (kept
// for the login), in clear only when the pool allows it, and a failure says why.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/mail/imap_front.h"
#include "proxy/mail/imap_node_login.h"
#include "proxy/mail/node_starttls.h"
#include "proxy/mail/pop3_front.h"
#include "proxy/mail/pop3_node_login.h"
#include "proxy/mail/smtp_front.h"
#include "proxy/mail/smtp_node_login.h"

namespace {

using namespace proxy::mail;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

void check_reply(std::string_view r) {
  check(r.empty() || r.ends_with("\r\n"), "a reply ends with CRLF");
}

// The next line of `in` from `at`, without its line ending; false at the end.
bool next_line(std::string_view in, size_t& at, std::string_view& line) {
  if (at >= in.size()) return false;
  size_t nl = in.find('\n', at);
  if (nl == std::string_view::npos) nl = in.size();
  line = in.substr(at, nl - at);
  if (line.ends_with('\r')) line.remove_suffix(1);
  at = nl + 1;
  return true;
}

template <class Front>
void front(std::string_view in, typename Front::Options o) {
  Front f(o);
  size_t at = 0;
  std::string_view line;
  while (true) {
    Step s;
    if (size_t want = f.literal_wanted(); want != 0) {
      if (in.size() - std::min(at, in.size()) < want) return;
      s = f.on_literal(in.substr(at, want));
      at += want;
    } else if (!next_line(in, at, line)) {
      return;
    } else {
      s = f.on_line(line);
    }
    check_reply(s.reply);
    switch (s.next) {
      case Next::Close:
        return;
      case Next::StartTls:
        f.tls_started();
        break;
      case Next::Login:
        check(f.login_allowed(), "no login before TLS unless allowed");
        f.login_done();  // the node refused: back to the dialogue
        break;
      case Next::Read:
        break;
    }
  }
}

template <class NodeLogin>
void node_side(std::string_view in, NodeLogin n) {
  size_t at = 0;
  std::string_view line;
  while (next_line(in, at, line)) {
    NodeStep s = n.on_line(line);
    check(s.to_node.empty() || s.to_node.ends_with("\r\n"), "a command to the node ends with CRLF");
    if (s.done) {
      check(s.result != LoginResult::None, "a finished login has a result");
      return;
    }
  }
}

void node_starttls(std::string_view in, proxy::Protocol protocol, routing::NodeTls mode) {
  NodeStartTls n(protocol, mode, "client.example");
  size_t at = 0;
  std::string_view line;
  while (next_line(in, at, line)) {
    NodeTlsStep s = n.on_line(line);
    check(s.to_node.empty() || s.to_node.ends_with("\r\n"), "a command to the node ends with CRLF");
    switch (s.next) {
      case NodeTlsStep::Next::More:
        check(n.failure().empty(), "no failure while the dialogue goes on");
        break;
      case NodeTlsStep::Next::Clear:
        check(mode == routing::NodeTls::Auto, "in clear only with node_tls = auto");
        [[fallthrough]];
      case NodeTlsStep::Next::Handshake:
        check(!n.greeting().empty(), "the node's greeting kept for the login");
        check(s.to_node.empty(), "nothing more to the node before the handshake or login");
        return;
      case NodeTlsStep::Next::Failed:
        check(!n.failure().empty(), "a failure says why");
        return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t pick = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool tls = pick & 0x10, starttls = pick & 0x20, plain = pick & 0x40;
  const Credentials creds{.user = "alice", .password = "pw"};
  switch (pick % 7) {
    case 0:
      front<ImapFront>(in, {.tls = tls, .starttls = starttls, .allow_plaintext_auth = plain});
      break;
    case 1:
      front<Pop3Front>(in, {.tls = tls, .starttls = starttls, .allow_plaintext_auth = plain});
      break;
    case 2:
      front<SmtpFront>(in, {.tls = tls, .starttls = starttls, .allow_plaintext_auth = plain});
      break;
    case 3:
      node_side(in,
                ImapNodeLogin(
                    "a1", creds,
                    tls ? std::optional<ClientAddress>(ClientAddress{
                              .ip = "203.0.113.7", .port = 5, .local_ip = "::1", .local_port = 993})
                        : std::nullopt));
      break;
    case 4:
      node_side(in, Pop3NodeLogin(creds));
      break;
    case 5:
      node_side(in,
                SmtpNodeLogin(
                    "client.example", creds,
                    tls ? std::optional<ClientAddress>(ClientAddress{
                              .ip = "2001:db8::7", .port = 5, .local_ip = "::1", .local_port = 587})
                        : std::nullopt));
      break;
    case 6: {
      using proxy::Protocol;
      const Protocol protocols[] = {Protocol::Imap, Protocol::Pop3, Protocol::Smtp};
      node_starttls(in, protocols[(pick >> 3) % 3],
                    plain ? routing::NodeTls::Auto : routing::NodeTls::StartTls);
      break;
    }
  }
  return 0;
}
