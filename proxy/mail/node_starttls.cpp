#include "proxy/mail/node_starttls.h"

#include <cctype>

#include "proxy/mail/imap_status.h"

namespace proxy::mail {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// `word` among the space-separated words of `text` (brackets of a response code taken off).
bool has_word(std::string_view text, std::string_view word) {
  const std::string u = upper(text);
  std::string_view rest = u;
  while (!rest.empty()) {
    const size_t end = rest.find_first_of(" []");
    if (rest.substr(0, end) == word) return true;
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return false;
}

bool pop3_ok(std::string_view line) {
  return line.starts_with("+OK") && (line.size() == 3 || line[3] == ' ');
}

// An SMTP reply line: its code (0 when malformed) and whether it is the reply's last line.
int smtp_code(std::string_view line, bool& last) {
  if (line.size() < 3) return 0;
  for (size_t i = 0; i < 3; ++i)
    if (!std::isdigit(static_cast<unsigned char>(line[i]))) return 0;
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return 0;
  last = line.size() == 3 || line[3] == ' ';
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

std::string shown(std::string_view line) {
  constexpr size_t kShown = 200;
  std::string out(line.substr(0, kShown));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

}  // namespace

NodeTlsStep NodeStartTls::on_line(std::string_view line) {
  if (state_ == State::Done) return fail("answered after its last expected line", line);
  switch (protocol_) {
    case Protocol::Pop3:
      return on_pop3(line);
    case Protocol::Smtp:
      return on_smtp(line);
    default:
      return on_imap(line);
  }
}

NodeTlsStep NodeStartTls::fail(std::string why, std::string_view line) {
  state_ = State::Done;
  failure_ = std::move(why);
  if (!line.empty()) failure_ += ": \"" + shown(line) + "\"";
  return {.next = NodeTlsStep::Next::Failed};
}

NodeTlsStep NodeStartTls::start() {
  state_ = State::Answer;
  switch (protocol_) {
    case Protocol::Pop3:
      return {.to_node = "STLS\r\n"};
    case Protocol::Smtp:
      return {.to_node = "STARTTLS\r\n"};
    default:
      return {.to_node = std::string(kTag) + " STARTTLS\r\n"};
  }
}

NodeTlsStep NodeStartTls::decide() {
  if (offered_ || !auto_) return start();
  state_ = State::Done;
  return {.next = NodeTlsStep::Next::Clear};
}

NodeTlsStep NodeStartTls::on_imap(std::string_view line) {
  const std::string tagged = std::string(kTag) + " ";
  switch (state_) {
    case State::Greeting:
      if (!line.starts_with("* ") || !imap_status_is(line.substr(2), "OK"))
        return fail("no IMAP greeting", line);
      greeting_ = line;
      if (!auto_) return start();
      // Dovecot's greeting carries its capabilities; other servers are asked.
      if (has_word(line, "CAPABILITY")) {
        offered_ = has_word(line, "STARTTLS");
        return decide();
      }
      state_ = State::Capabilities;
      return {.to_node = tagged + "CAPABILITY\r\n"};
    case State::Capabilities:
      if (line.starts_with(tagged)) {
        if (!imap_status_is(line.substr(tagged.size()), "OK"))
          return fail("refused CAPABILITY", line);
        return decide();
      }
      if (line.starts_with("* ") && has_word(line.substr(2, 11), "CAPABILITY") &&
          has_word(line, "STARTTLS"))
        offered_ = true;
      return {};
    case State::Answer:
      if (!line.starts_with(tagged)) return {};  // untagged lines before the answer
      if (!imap_status_is(line.substr(tagged.size()), "OK")) return fail("refused STARTTLS", line);
      state_ = State::Done;
      return {.next = NodeTlsStep::Next::Handshake};
    case State::Done:
      break;
  }
  return fail("unexpected line", line);
}

NodeTlsStep NodeStartTls::on_pop3(std::string_view line) {
  switch (state_) {
    case State::Greeting:
      if (!pop3_ok(line)) return fail("no POP3 greeting", line);
      greeting_ = line;
      if (!auto_) return start();
      state_ = State::Capabilities;
      return {.to_node = "CAPA\r\n"};
    case State::Capabilities:
      if (!capa_begun_) {
        // A server without CAPA (RFC 2449) offers no STLS either.
        if (!pop3_ok(line)) return decide();
        capa_begun_ = true;
        return {};
      }
      if (line == ".") return decide();
      if (has_word(line, "STLS")) offered_ = true;
      return {};
    case State::Answer:
      if (!pop3_ok(line)) return fail("refused STLS", line);
      state_ = State::Done;
      return {.next = NodeTlsStep::Next::Handshake};
    case State::Done:
      break;
  }
  return fail("unexpected line", line);
}

NodeTlsStep NodeStartTls::on_smtp(std::string_view line) {
  bool last = false;
  const int code = smtp_code(line, last);
  switch (state_) {
    case State::Greeting:
      if (code != 220) return fail("no SMTP greeting", line);
      if (!last) return {};
      greeting_ = line;
      state_ = State::Capabilities;
      return {.to_node = "EHLO " + client_name_ + "\r\n"};
    case State::Capabilities:
      if (code != 250) return fail("refused EHLO", line);
      if (line.size() > 4 && upper(line.substr(4)) == "STARTTLS") offered_ = true;
      if (!last) return {};
      if (!offered_ && !auto_) return fail("does not offer STARTTLS", {});
      return decide();
    case State::Answer:
      if (code != 220) return fail("refused STARTTLS", line);
      if (!last) return {};
      state_ = State::Done;
      return {.next = NodeTlsStep::Next::Handshake};
    case State::Done:
      break;
  }
  return fail("unexpected line", line);
}

}  // namespace proxy::mail
