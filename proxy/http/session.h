// One client connection speaking HTTP/1.1: reads requests, routes them, relays them to a node
// of the chosen pool over a pooled keep-alive connection, streams bodies both ways, and tunnels
// upgraded (WebSocket) connections. The client stream is a template parameter so that a TLS
// stream slots in where a plain socket is used today.
#pragma once

#include <cstddef>

#include <boost/asio/ip/tcp.hpp>

#include "routing/country.h"

namespace proxy {
class Worker;
}
namespace tls {
class Stream;
}

namespace proxy::http {

// Takes over an accepted connection and serves it until it closes. `listener` indexes the
// snapshot's listeners. Returns at once; the session lives in its pending operations.
// `country`: the client's, looked up once at accept (unknown without a [geoip] database).
void start_http_session(Worker& worker, boost::asio::ip::tcp::socket socket, size_t listener,
                        boost::asio::ip::tcp::endpoint peer, routing::Country country);

// The same over TLS: the handshake runs first, bounded by the listener's handshake_timeout.
void start_https_session(Worker& worker, tls::Stream stream, size_t listener,
                         boost::asio::ip::tcp::endpoint peer, routing::Country country);

}  // namespace proxy::http
