#include "proxy/http/header_rewrite.h"

#include <charconv>

#include "proxy/http/affinity_cookie.h"

namespace proxy::http {
namespace {

// Fields that describe one connection and never cross a proxy (RFC 9110 7.6.1), and the
// framing fields that Passeur writes itself.
bool is_hop_by_hop(std::string_view n) {
  switch (n.size()) {
    case 2:
      return iequals(n, "te");
    case 7:
      return iequals(n, "upgrade");
    case 10:
      return iequals(n, "connection") || iequals(n, "keep-alive");
    case 14:
      return iequals(n, "content-length");
    case 16:
      return iequals(n, "proxy-connection");
    case 17:
      return iequals(n, "transfer-encoding");
    default:
      return false;
  }
}

// Request fields Passeur writes itself: X-Forwarded-For/-Proto/-Host, and Expect (sent on only
// as "100-continue", when the relay waits for the node's answer).
bool is_rewritten_request_field(std::string_view n) {
  if (n.size() == 6) return iequals(n, "expect");
  return n.size() >= 15 && iequals(n.substr(0, 12), "x-forwarded-") &&
         (iequals(n.substr(12), "for") || iequals(n.substr(12), "proto") ||
          iequals(n.substr(12), "host"));
}

void append_line(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

bool named_by_connection(const MessageHead& h, std::string_view name) {
  return h.connection_names(name);
}

}  // namespace

void build_request_head(const RequestHead& req, const RequestRewrite& rw, std::string& out) {
  out.reserve(out.size() + req.size + 256);
  out.append(req.method).append(" ").append(rw.target).append(" HTTP/1.1\r\n");
  bool xff_open = false;
  for (uint16_t i = 0; i < req.nfields; ++i) {
    const HeaderField& f = req.fields[i];
    if (is_hop_by_hop(f.name) || named_by_connection(req, f.name)) continue;
    if (is_rewritten_request_field(f.name)) {
      if (f.name.size() == 15 && iequals(f.name, "x-forwarded-for")) xff_open = true;
      continue;
    }
    if (!rw.country_header.empty() && f.name.size() == rw.country_header.size() &&
        iequals(f.name, rw.country_header))
      continue;  // a client's own claim of its country
    if (!rw.strip_cookie.empty() && f.name.size() == 6 && iequals(f.name, "cookie") &&
        find_cookie(f.value, rw.strip_cookie)) {
      const std::string rest = without_cookie(f.value, rw.strip_cookie);
      if (!rest.empty()) append_line(out, f.name, rest);
      continue;
    }
    append_line(out, f.name, f.value);
  }
  // X-Forwarded-For: the list received (every copy, in order) plus the client's address.
  out.append("X-Forwarded-For: ");
  if (xff_open) {
    for (uint16_t i = 0; i < req.nfields; ++i) {
      const HeaderField& f = req.fields[i];
      if (f.name.size() == 15 && iequals(f.name, "x-forwarded-for") && !f.value.empty())
        out.append(f.value).append(", ");
    }
  }
  out.append(rw.client_ip).append("\r\nX-Forwarded-Proto: ").append(rw.proto).append("\r\n");
  if (!rw.host.empty()) append_line(out, "X-Forwarded-Host", rw.host);
  if (rw.forwarded) {
    out.append("Forwarded: for=");
    if (rw.client_ip.find(':') != std::string_view::npos)
      out.append("\"[").append(rw.client_ip).append("]\"");
    else
      out.append(rw.client_ip);
    out.append(";proto=").append(rw.proto);
    if (!rw.host.empty()) out.append(";host=\"").append(rw.host).append("\"");
    out.append("\r\n");
  }
  if (rw.via)
    append_line(out, "Via",
                req.version == 10   ? "1.0 passeur"
                : req.version == 20 ? "2.0 passeur"
                                    : "1.1 passeur");
  if (!rw.country_header.empty() && !rw.country.empty())
    append_line(out, rw.country_header, rw.country);
  if (rw.websocket)
    out.append("Connection: upgrade\r\nUpgrade: ").append(req.upgrade).append("\r\n");
  if (rw.expect_continue) out.append("Expect: 100-continue\r\n");
  if (rw.te_trailers) out.append("TE: trailers\r\n");
  if (rw.chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (rw.content_length) {
    out.append("Content-Length: ");
    append_number(out, *rw.content_length);
    out.append("\r\n");
  }
  out.append("\r\n");
}

void build_response_head(const ResponseHead& res, const ResponseRewrite& rw, std::string& out) {
  out.reserve(out.size() + res.size + 128);
  out.append("HTTP/1.1 ");
  append_number(out, res.status);
  out.append(" ").append(res.reason.empty() ? reason_phrase(res.status) : res.reason);
  out.append("\r\n");
  for (uint16_t i = 0; i < res.nfields; ++i) {
    const HeaderField& f = res.fields[i];
    if (is_hop_by_hop(f.name) || named_by_connection(res, f.name)) continue;
    append_line(out, f.name, f.value);
  }
  if (rw.via) append_line(out, "Via", res.version == 10 ? "1.0 passeur" : "1.1 passeur");
  out.append(rw.extra);
  if (res.status == 101) {
    out.append("Connection: upgrade\r\nUpgrade: ").append(res.upgrade).append("\r\n\r\n");
    return;
  }
  switch (rw.framing) {
    case Framing::Chunked:
      out.append("Transfer-Encoding: chunked\r\n");
      break;
    case Framing::Length:
    case Framing::None:
      // A HEAD, 204 or 304 answer keeps the Content-Length the backend declared.
      if (res.content_length) {
        out.append("Content-Length: ");
        append_number(out, *res.content_length);
        out.append("\r\n");
      }
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

std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

void build_error_response(unsigned status, std::string_view text, bool close, std::string& out,
                          std::string_view extra) {
  out.append("HTTP/1.1 ");
  append_number(out, status);
  out.append(" ").append(reason_phrase(status));
  out.append("\r\nContent-Type: text/plain\r\n").append(extra).append("Content-Length: ");
  append_number(out, text.size() + 1);
  out.append(close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n").append(text).append("\n");
}

void build_https_redirect(std::string_view host, std::string_view target, bool close,
                          std::string& out) {
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  std::string_view text = "moved to https";
  out.append("HTTP/1.1 301 Moved Permanently\r\nLocation: https://").append(host).append(target);
  out.append("\r\nContent-Type: text/plain\r\nContent-Length: ");
  append_number(out, text.size() + 1);
  out.append(close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n").append(text).append("\n");
}

}  // namespace proxy::http
