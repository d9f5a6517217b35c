// The access log line of a TCP session:
// 127.0.0.1:51234 - [21/Nov/2026:18:30:00.123 +0000] "TCP imaps" listener=imaps pool=imap
//   node=node1 bytes_in=120 bytes_out=4512 connect_time=0.001 duration=12.345 close=client_fin
//   [country=DE, with a [geoip] database]
// A mail session names its protocol instead of TCP, and adds the user it learned and how its
// login ended: "IMAP imap" ... user="alice" login=ok (login=none: no login reached a node).
// bytes_in: from the client to the node; bytes_out: from the node to the client (after TLS).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace proxy::tcp_relay {

struct SessionLine {
  std::string_view client;  // the client's address: from the PROXY header when one was taken
  uint16_t client_port = 0;
  std::string_view listener;
  std::string_view pool;
  std::string_view node;  // empty: no node was reached
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double connect_seconds = -1;  // < 0: no connection to a node
  double total_seconds = 0;
  std::string_view cause;    // why the session ended
  std::string_view country;  // with [geoip]: ISO code or "-"; empty: no field
  std::string_view kind = "TCP";
  bool mail = false;       // the user and login fields follow
  std::string_view user;   // quoted and escaped; empty: "-"
  std::string_view login;  // ok, refused, failed, none
};

void format_session_line(const SessionLine& line, std::string& out);

}  // namespace proxy::tcp_relay
