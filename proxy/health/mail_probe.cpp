// The mail checks: the server's greeting (and for SMTP its answer to EHLO), then a polite
// goodbye, as a client would say it.
#include <cctype>
#include <string>

#include "proxy/health/probe_dialogues.h"

namespace proxy::health {
namespace {

using boost::asio::awaitable;
using boost::system::error_code;
using routing::CheckType;

constexpr int kMaxReplyLines = 100;  // of one multi-line SMTP reply

// One SMTP reply, possibly multi-line ("250-..." lines, then "250 ..."): its code, or 0 when a
// line is not a reply line. `first` keeps the first line, for the log.
awaitable<error_code> read_smtp_reply(ProbeConnection& conn, int& code, std::string& first) {
  std::string line;
  for (int i = 0; i < kMaxReplyLines; ++i) {
    if (error_code ec = co_await conn.read_line(line)) co_return ec;
    if (i == 0) first = line;
    const bool numbered = line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                          std::isdigit(static_cast<unsigned char>(line[1])) &&
                          std::isdigit(static_cast<unsigned char>(line[2]));
    if (!numbered || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      code = 0;
      first = line;
      co_return error_code();
    }
    code = std::stoi(line.substr(0, 3));
    if (line.size() == 3 || line[3] == ' ') co_return error_code();
  }
  co_return boost::asio::error::message_size;
}

// Says goodbye and waits for the answer (or the close), within the deadline; the answer does
// not matter.
awaitable<void> goodbye(ProbeConnection& conn, std::string_view command,
                        std::string_view answer_prefix) {
  if (co_await conn.write(command)) co_return;
  std::string line;
  for (int i = 0; i < kMaxReplyLines; ++i) {
    if (co_await conn.read_line(line) || line.starts_with(answer_prefix)) co_return;
  }
}

awaitable<ProbeResult> line_protocol(ProbeConnection& conn, std::string_view name,
                                     std::string_view greeting, std::string_view bye,
                                     std::string_view bye_answer) {
  std::string line;
  if (error_code ec = co_await conn.read_line(line))
    co_return ProbeResult{false, failure_detail(ec, "while waiting for the greeting")};
  if (!line.starts_with(greeting)) {
    co_return ProbeResult{false, "no " + std::string(greeting) + " greeting: " + printable(line)};
  }
  co_await goodbye(conn, bye, bye_answer);
  co_return ProbeResult{true, std::string(name) + " " + std::string(greeting)};
}

awaitable<ProbeResult> smtp(ProbeConnection& conn) {
  int code = 0;
  std::string first;
  if (error_code ec = co_await read_smtp_reply(conn, code, first))
    co_return ProbeResult{false, failure_detail(ec, "while waiting for the greeting")};
  if (code != 220) co_return ProbeResult{false, "no 220 greeting: " + printable(first)};
  if (error_code ec = co_await conn.write("EHLO passeur\r\n"))
    co_return ProbeResult{false, failure_detail(ec, "while sending EHLO")};
  if (error_code ec = co_await read_smtp_reply(conn, code, first))
    co_return ProbeResult{false, failure_detail(ec, "while waiting for the answer to EHLO")};
  if (code != 250) co_return ProbeResult{false, "EHLO answered: " + printable(first)};
  co_await goodbye(conn, "QUIT\r\n", "221");
  co_return ProbeResult{true, "SMTP 220, EHLO 250"};
}

}  // namespace

awaitable<ProbeResult> mail_dialogue(ProbeConnection& conn, CheckType type) {
  switch (type) {
    case CheckType::Imap:
      co_return co_await line_protocol(conn, "IMAP", "* OK", "a1 LOGOUT\r\n", "a1 ");
    case CheckType::Pop3:
      co_return co_await line_protocol(conn, "POP3", "+OK", "QUIT\r\n", "+OK");
    case CheckType::Smtp:
      co_return co_await smtp(conn);
    default:
      break;
  }
  co_return ProbeResult{false, "not a mail check"};
}

}  // namespace proxy::health
