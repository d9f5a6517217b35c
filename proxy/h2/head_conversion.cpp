#include "proxy/h2/head_conversion.h"

#include <cctype>

namespace proxy::h2 {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Fields of one HTTP/1.1 connection, which HTTP/2 does not carry (RFC 9113 8.2.2).
bool connection_specific(std::string_view n) {
  using http::iequals;
  return iequals(n, "connection") || iequals(n, "keep-alive") || iequals(n, "proxy-connection") ||
         iequals(n, "transfer-encoding") || iequals(n, "upgrade") || iequals(n, "te");
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool RequestHeadText::add(std::string_view name, std::string_view value) {
  size_ += name.size() + value.size();
  if (!name.empty() && name.front() == ':') {
    std::string* slot = name == ":method"      ? &method_
                        : name == ":scheme"    ? &scheme_
                        : name == ":authority" ? &authority_
                        : name == ":path"      ? &path_
                        : name == ":protocol"  ? &protocol_
                                               : nullptr;
    if (!slot || !slot->empty() || value.empty()) {
      bad_ = true;
      return false;
    }
    slot->assign(value);
    return true;
  }
  if (name == "cookie") {
    if (!cookie_.empty()) cookie_.append("; ");
    cookie_.append(value);
    return true;
  }
  // :authority names the host; a Host field beside it says the same or is ignored (RFC 9113
  // 8.3.1). Without :authority, Host stays.
  if (name == "host" && !authority_.empty()) return true;
  if (name == "content-length") has_content_length_ = true;
  if (!protocol_.empty()) {
    // The handshake's key is Passeur's own (its node checks the answer against it).
    if (name == "sec-websocket-key") return true;
    if (name == "sec-websocket-version") has_ws_version_ = true;
  }
  fields_.append(name).append(": ").append(value).append("\r\n");
  return true;
}

bool RequestHeadText::websocket() const {
  return method_ == "CONNECT" && http::iequals(protocol_, "websocket");
}

std::string RequestHeadText::finish(bool body_follows, std::string_view websocket_key) const {
  if (bad_ || method_.empty() || path_.empty()) return {};
  const bool ws = websocket();
  if (method_ == "CONNECT" && (!ws || websocket_key.empty() || has_content_length_)) return {};
  if (!protocol_.empty() && !ws) return {};
  std::string out;
  out.reserve(method_.size() + path_.size() + authority_.size() + fields_.size() + cookie_.size() +
              128);
  out.append(ws ? std::string_view("GET") : std::string_view(method_))
      .append(" ")
      .append(path_)
      .append(" HTTP/1.1\r\n");
  if (!authority_.empty()) out.append("Host: ").append(authority_).append("\r\n");
  out.append(fields_);
  if (!cookie_.empty()) out.append("cookie: ").append(cookie_).append("\r\n");
  if (ws) {
    out.append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ")
        .append(websocket_key)
        .append("\r\n");
    if (!has_ws_version_) out.append("Sec-WebSocket-Version: 13\r\n");
  } else if (body_follows && !has_content_length_) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  out.append("\r\n");
  return out;
}

std::vector<Field> response_fields(const http::ResponseHead& res) {
  std::vector<Field> out;
  out.reserve(res.nfields + 1);
  out.push_back({":status", std::to_string(res.status)});
  for (uint16_t i = 0; i < res.nfields; ++i) {
    const http::HeaderField& f = res.fields[i];
    if (connection_specific(f.name) || res.connection_names(f.name)) continue;
    out.push_back({lower(f.name), std::string(f.value)});
  }
  return out;
}

std::vector<Field> trailer_fields(std::string_view lines) {
  std::vector<Field> out;
  while (!lines.empty()) {
    size_t end = lines.find('\n');
    std::string_view line = lines.substr(0, end);
    lines = end == std::string_view::npos ? std::string_view() : lines.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    if (connection_specific(name) || http::iequals(name, "content-length")) continue;
    out.push_back({lower(name), std::string(trim(line.substr(colon + 1)))});
  }
  return out;
}

void append_trailer_line(std::string& lines, std::string_view name, std::string_view value) {
  lines.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace proxy::h2
