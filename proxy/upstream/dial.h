// Opens one connection to a node, whoever asks (the connector for HTTP requests and TCP
// sessions, the health checker for probes): the TCP connect, then the PROXY header when the
// pool sends one, then the TLS handshake when the pool re-encrypts. No deadline of its own:
// the caller's deadline cancels the stream's socket (a session's deadline sweep, a probe's
// timer), and the caller knows whether it was that.
#pragma once

#include <cstdint>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include "proxy/tcp/proxy_header.h"
#include "proxy/upstream/stream.h"
#include "routing/node_traffic.h"
#include "routing/settings.h"
#include "tls/client_tls.h"

namespace proxy::upstream {

struct DialOptions {
  // Re-encryption: the handshake runs with this context and server name (SNI, and the name
  // checked when the context verifies). Null: plain TCP.
  const tls::ClientTls* tls = nullptr;
  std::string_view server_name;
  // The PROXY header sent first, about the connection from `proxy_source` to
  // `proxy_destination`; with proxy_about_self, about this connection itself (a probe).
  routing::ProxyProtocol proxy = routing::ProxyProtocol::Off;
  bool proxy_about_self = false;
  boost::asio::ip::tcp::endpoint proxy_source;
  boost::asio::ip::tcp::endpoint proxy_destination;
  // The client's TLS connection to Passeur, told in a v2 header (the views outlive the dial).
  tcp_relay::ClientTls client_tls;
};

enum class DialStage : uint8_t { Connect, ProxyHeader, TlsSetup, TlsHandshake };

struct DialError {
  boost::system::error_code ec;  // empty: connected
  DialStage stage = DialStage::Connect;

  explicit operator bool() const { return static_cast<bool>(ec); }
};

// `progress`, when given, names the stage under way (for a caller whose deadline cuts it).
boost::asio::awaitable<DialError> dial(Stream& stream, const boost::asio::ip::tcp::endpoint& to,
                                       const DialOptions& options, DialStage* progress = nullptr);

// The kind counted in passeur_node_connect_errors_total. `deadline`: the caller's deadline
// cut the dial.
routing::ConnectError classify(const DialError& e, bool deadline);

}  // namespace proxy::upstream
