#include "proxy/admin/web_request.h"

#include "proxy/admin/api.h"

namespace proxy::admin {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "host:port" with the scheme's default port removed, lower-cased.
std::string authority(std::string_view hostport, std::string_view scheme) {
  std::string a = lower(hostport);
  const std::string default_port = scheme == "https" ? ":443" : ":80";
  if (a.size() > default_port.size() &&
      a.compare(a.size() - default_port.size(), default_port.size(), default_port) == 0)
    a.resize(a.size() - default_port.size());
  return a;
}

}  // namespace

std::optional<std::string> form_field(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) {
      std::string value(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
      for (char& c : value)
        if (c == '+') c = ' ';
      return percent_decode(value);
    }
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
      std::string_view v = trim(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

std::string cross_site_reason(std::string_view origin, std::string_view sec_fetch_site,
                              std::string_view host) {
  const std::string site = lower(trim(sec_fetch_site));
  if (!site.empty() && site != "same-origin" && site != "none") return "Sec-Fetch-Site: " + site;
  origin = trim(origin);
  if (origin.empty()) return "";
  const size_t sep = origin.find("://");
  if (sep == std::string_view::npos) return "Origin: " + std::string(origin);
  const std::string scheme = lower(origin.substr(0, sep));
  if (scheme != "http" && scheme != "https") return "Origin: " + std::string(origin);
  std::string_view rest = origin.substr(sep + 3);
  if (rest.find('/') != std::string_view::npos) return "Origin: " + std::string(origin);
  if (host.empty() || authority(rest, scheme) != authority(trim(host), scheme))
    return "Origin: " + std::string(origin);
  return "";
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace proxy::admin
