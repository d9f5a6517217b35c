// One access log line, formatted like nginx's combined log with the proxy's own fields:
// 127.0.0.1:51234 - [21/Nov/2026:18:30:00.123 +0000] "GET / HTTP/1.1" 200 612 host="a.b"
//   listener=web pool=webmail node=node1 upstream_time=0.002 request_time=0.003
//   bytes_in=95 close=keepalive [country=DE, with a [geoip] database]
// 612: bytes sent to the client (head and body); bytes_in: bytes read from the client (head
// and body as they came); close: how the request's exchange ended (see the README).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace proxy::http {

struct AccessLine {
  std::string_view client;
  uint16_t client_port = 0;
  std::string_view method;
  std::string_view target;
  unsigned version = 11;
  unsigned status = 0;
  uint64_t bytes = 0;
  std::string_view host;
  std::string_view listener;
  std::string_view pool;  // empty: answered by Passeur itself
  std::string_view node;
  std::string_view country;      // with [geoip]: ISO code or "-"; empty: no field
  double upstream_seconds = -1;  // < 0: no upstream response
  double total_seconds = 0;
  uint64_t bytes_in = 0;
  std::string_view close;  // empty: "-"
};

// Appends the line (with its newline) to out. Control characters and quotes from the request
// are escaped so a client cannot forge log lines.
void format_access_line(const AccessLine& line, std::string& out);

}  // namespace proxy::http
