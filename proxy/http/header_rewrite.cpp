#include "proxy/http/header_rewrite.h"

#include <boost/beast/core/string.hpp>
#include <charconv>

namespace proxy::http {
namespace {

using boost::beast::iequals;
using Field = bhttp::field;

// Fields that describe one connection and never cross a proxy (RFC 9110 7.6.1), plus the
// framing fields that Passeur writes itself.
bool is_hop_by_hop(Field f) {
  switch (f) {
    case Field::connection:
    case Field::keep_alive:
    case Field::proxy_connection:
    case Field::te:
    case Field::trailer:
    case Field::transfer_encoding:
    case Field::upgrade:
    case Field::content_length:
      return true;
    default:
      return false;
  }
}

// Calls fn(token) for each comma-separated token of a header value, trimmed.
template <class Fn>
void for_each_token(std::string_view v, Fn&& fn) {
  while (!v.empty()) {
    size_t comma = v.find(',');
    std::string_view t = v.substr(0, comma);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (!t.empty()) fn(t);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

// Is this header named in the message's Connection header (and so hop-by-hop)?
bool named_in_connection(std::string_view connection, std::string_view name) {
  bool found = false;
  for_each_token(connection, [&](std::string_view t) { found = found || iequals(t, name); });
  return found;
}

// X-Forwarded-For/-Proto/-Host are rewritten by Passeur (Beast has no enum value for them).
bool is_x_forwarded(std::string_view name) {
  return name.size() >= 16 && iequals(name.substr(0, 12), "x-forwarded-") &&
         (iequals(name.substr(12), "for") || iequals(name.substr(12), "proto") ||
          iequals(name.substr(12), "host"));
}

void append_line(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

template <class Header>
void copy_end_to_end_fields(const Header& h, std::string& out, bool skip_forwarding) {
  std::string_view connection = h[Field::connection];
  for (const auto& f : h) {
    Field name = f.name();
    if (is_hop_by_hop(name)) continue;
    if (skip_forwarding && (name == Field::expect || is_x_forwarded(f.name_string()))) continue;
    if (!connection.empty() && named_in_connection(connection, f.name_string())) continue;
    append_line(out, f.name_string(), f.value());
  }
}

}  // namespace

bool connection_has_token(std::string_view connection_value, std::string_view token) {
  return named_in_connection(connection_value, token);
}

void build_request_head(const bhttp::request_header<>& req, const RequestRewrite& rw,
                        std::string& out) {
  out.reserve(out.size() + 512);
  out.append(req.method_string()).append(" ").append(rw.target).append(" HTTP/1.1\r\n");
  copy_end_to_end_fields(req, out, true);

  // X-Forwarded-For: the list received (every copy, in order) plus the client's address.
  out.append("X-Forwarded-For: ");
  for (const auto& f : req) {
    if (f.name() != Field::unknown || !iequals(f.name_string(), "x-forwarded-for")) continue;
    out.append(f.value()).append(", ");
  }
  out.append(rw.client_ip).append("\r\n");
  append_line(out, "X-Forwarded-Proto", rw.proto);
  if (!rw.host.empty()) append_line(out, "X-Forwarded-Host", rw.host);
  if (rw.forwarded) {
    out.append("Forwarded: for=");
    bool v6 = rw.client_ip.find(':') != std::string_view::npos;
    if (v6) out.append("\"[").append(rw.client_ip).append("]\"");
    else out.append(rw.client_ip);
    out.append(";proto=").append(rw.proto);
    if (!rw.host.empty()) out.append(";host=\"").append(rw.host).append("\"");
    out.append("\r\n");
  }
  if (rw.via) append_line(out, "Via", req.version() == 10 ? "1.0 passeur" : "1.1 passeur");
  if (rw.websocket) {
    out.append("Connection: upgrade\r\nUpgrade: ").append(req[Field::upgrade]).append("\r\n");
  }
  if (rw.chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (rw.content_length) {
    out.append("Content-Length: ");
    append_number(out, *rw.content_length);
    out.append("\r\n");
  }
  out.append("\r\n");
}

void build_response_head(const bhttp::response_header<>& res, const ResponseRewrite& rw,
                         std::string& out) {
  out.reserve(out.size() + 512);
  out.append("HTTP/1.1 ");
  append_number(out, res.result_int());
  out.append(" ").append(res.reason()).append("\r\n");
  copy_end_to_end_fields(res, out, false);
  if (rw.via) append_line(out, "Via", res.version() == 10 ? "1.0 passeur" : "1.1 passeur");
  out.append(rw.extra);
  if (res.result_int() == 101) {
    out.append("Connection: upgrade\r\nUpgrade: ").append(res[Field::upgrade]).append("\r\n\r\n");
    return;
  }
  switch (rw.framing) {
    case Framing::Chunked:
      out.append("Transfer-Encoding: chunked\r\n");
      break;
    case Framing::Length:
      if (rw.content_length) {
        out.append("Content-Length: ");
        append_number(out, *rw.content_length);
        out.append("\r\n");
        break;
      }
      [[fallthrough]];
    case Framing::None:
      // A HEAD, 204 or 304 answer keeps the Content-Length the backend declared.
      if (auto cl = res[Field::content_length]; !cl.empty()) append_line(out, "Content-Length", cl);
      break;
    case Framing::Close:
      break;
  }
  if (!rw.keep_alive)
    out.append("Connection: close\r\n");
  else if (rw.client_http10)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
}

void build_error_response(unsigned status, std::string_view text, bool close, std::string& out) {
  std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  out.append("HTTP/1.1 ");
  append_number(out, status);
  out.append(" ").append(reason).append("\r\nContent-Type: text/plain\r\nContent-Length: ");
  append_number(out, text.size() + 1);
  out.append(close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n").append(text).append("\n");
}

}  // namespace proxy::http
