#include "proxy/mail/xclient.h"

#include <algorithm>
#include <cctype>

namespace proxy::mail {
namespace {

constexpr size_t kMaxCommand = 512;  // an SMTP command line, with its CRLF (RFC 5321 4.5.3.1.4)
constexpr size_t kMaxHelo = 255;     // Postfix's limit on a HELO value

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

}  // namespace

std::string xtext(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= '!' && c <= '~' && c != '+' && c != '=') {
      out += ch;
    } else {
      out += '+';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string xclient_address(std::string_view ip) {
  if (ip.find(':') == std::string_view::npos) return std::string(ip);
  constexpr std::string_view kMapped = "::FFFF:";
  if (iequals_prefix(ip, kMapped) && ip.find('.') != std::string_view::npos)
    return std::string(ip.substr(kMapped.size()));
  return "IPV6:" + std::string(ip);
}

std::optional<std::vector<std::string>> xclient_offer(std::string_view extension) {
  constexpr std::string_view kName = "XCLIENT";
  if (!iequals_prefix(extension, kName)) return std::nullopt;
  std::string_view rest = extension.substr(kName.size());
  if (!rest.empty() && rest.front() != ' ') return std::nullopt;
  std::vector<std::string> names;
  while (!rest.empty()) {
    const size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find(' '), rest.size());
    std::string name(rest.substr(0, end));
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    names.push_back(std::move(name));
    rest.remove_prefix(end);
  }
  return names;
}

std::string xclient_command(const ClientAddress& client, std::string_view helo,
                            const std::vector<std::string>& offered) {
  auto has = [&offered](std::string_view name) {
    return std::find(offered.begin(), offered.end(), name) != offered.end();
  };
  if (!has("ADDR") || client.ip.empty()) return {};
  std::string line = "XCLIENT ADDR=" + xtext(xclient_address(client.ip));
  // Passeur does not look names up: the node must not keep Passeur's own name for the client.
  if (has("NAME")) line += " NAME=[UNAVAILABLE]";
  if (has("PORT") && client.port != 0) line += " PORT=" + std::to_string(client.port);
  if (has("PROTO")) line += " PROTO=ESMTP";
  if (has("DESTADDR") && !client.local_ip.empty())
    line += " DESTADDR=" + xtext(xclient_address(client.local_ip));
  if (has("DESTPORT") && client.local_port != 0)
    line += " DESTPORT=" + std::to_string(client.local_port);
  if (has("HELO") && !helo.empty() && helo.size() <= kMaxHelo) {
    const std::string value = " HELO=" + xtext(helo);
    if (line.size() + value.size() + 2 <= kMaxCommand) line += value;
  }
  return line + "\r\n";
}

}  // namespace proxy::mail
