// The whole configuration, as read from one TOML file. Each module owns its own settings type;
// this aggregate only puts them together.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/http/header_rules.h"
#include "routing/access_rule.h"
#include "routing/cidr.h"
#include "routing/login_shield_settings.h"
#include "routing/settings.h"
#include "tls/settings.h"

namespace proxy {

using Millis = std::chrono::milliseconds;

struct ServerSettings {
  unsigned workers = 0;  // 0 = one per core
  std::string admin_listen = "127.0.0.1:9900";
  std::string admin_token_file;       // empty: no token (allowed only on a loopback admin_listen)
  std::string admin_token;            // read from admin_token_file at load
  std::string access_log = "stdout";  // "stdout" | "off" | a file path
  Millis grace_period = Millis(30'000);
};

enum class Protocol : uint8_t { Http, Tcp, Imap, Pop3, Smtp };

// A listener whose bytes go to a pool's nodes: protocol = "tcp" and the mail protocols.
inline bool relays_sessions(Protocol p) {
  return p != Protocol::Http;
}
inline bool is_mail(Protocol p) {
  return p == Protocol::Imap || p == Protocol::Pop3 || p == Protocol::Smtp;
}
inline std::string protocol_name(Protocol p) {
  switch (p) {
    case Protocol::Http:
      return "http";
    case Protocol::Tcp:
      return "tcp";
    case Protocol::Imap:
      return "imap";
    case Protocol::Pop3:
      return "pop3";
    case Protocol::Smtp:
      return "smtp";
  }
  return "?";
}

// HTTP/2 towards clients: off, offered by ALPN on a TLS listener, or spoken from the first byte
// by clients that know it is there (h2c with prior knowledge, on a plain listener).
enum class Http2 : uint8_t { Off, On, PriorKnowledge };

struct ListenerSettings {
  std::string name;
  std::string listen;  // "ip:port" or "[v6]:port"
  Protocol protocol = Protocol::Http;
  Millis header_timeout = Millis(10'000);     // whole request header must arrive within this
  Millis keepalive_timeout = Millis(60'000);  // idle client connection between requests
  Millis client_timeout = Millis(60'000);  // inactivity while reading a body or writing to client
  uint32_t max_header = 32 * 1024;         // request line + headers, bytes
  bool forwarded = false;                  // also send RFC 7239 Forwarded
  bool via = false;                        // add "Via: 1.1 passeur"
  Http2 http2 = Http2::Off;
  // TLS termination.
  bool tls = false;
  std::string default_certificate;  // name whose certificate answers clients without SNI
  tls::ServerOptions tls_options;   // tls_records, ktls
  Millis handshake_timeout = Millis(10'000);
  std::string hsts;                // Strict-Transport-Security value; empty = off
  bool redirect_to_https = false;  // 301 to https:// except ACME challenges
  // protocol = "tcp": bytes relayed to a node of `pool` (mail: IMAP, POP3, SMTP).
  std::string pool;
  Millis idle_timeout = Millis(30 * 60'000);  // no byte either way for this long: closed
  Millis connect_timeout = Millis(3'000);     // to a node; a failed connect tries another
  // Mail protocols: Passeur answers the client until its login, which it replays to a node.
  Millis login_timeout = Millis(60'000);  // from accept to a complete login command
  bool allow_plaintext_auth = false;      // logins without TLS (default: STARTTLS first)
  // Sources allowed (and required) to start with a PROXY header (v1 or v2); empty = none.
  std::vector<routing::Cidr> accept_proxy;
  // Who may connect: checked at accept (after the PROXY header), before TLS.
  routing::AccessRule access;
  // request_headers / response_headers: applied before the route's (protocol = "http").
  http::HeaderRules header_rules;
};

// [geoip]: the MaxMind database that countries are looked up in.
struct GeoipSettings {
  std::string database;                   // .mmdb path; empty = no [geoip]
  std::string header = "X-Country-Code";  // sent to HTTP backends; empty = not sent
  Millis check_interval = Millis(5'000);  // how often the file is checked for a replacement
};

struct Config {
  std::string path;  // file it was read from
  ServerSettings server;
  std::vector<tls::CertSettings> certificates;
  std::vector<ListenerSettings> listeners;
  std::vector<routing::RouteSettings> routes;
  // The header rules of each route (request_headers / response_headers), in the same order.
  std::vector<http::HeaderRules> route_headers;
  std::vector<routing::PoolSettings> pools;
  GeoipSettings geoip;
  // [login_shield]: failed mail logins slowed down, then refused.
  routing::LoginShieldSettings login_shield;
};

}  // namespace proxy
