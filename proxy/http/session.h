// One client connection speaking HTTP/1.1, over plain TCP or TLS: reads requests, routes them,
// relays them to a node of the chosen pool over a pooled keep-alive connection, streams bodies
// both ways, and tunnels upgraded (WebSocket) connections. One session type serves both
// transports: the client stream (a TCP socket or a tls::Stream) is its template parameter.
#pragma once

#include <cstddef>

#include <boost/asio/ip/tcp.hpp>

#include "routing/country.h"

namespace proxy {
class WorkerContext;
}
namespace tls {
class Stream;
}

namespace proxy::http {

// Takes over an accepted connection and serves it until it closes. `listener` indexes the
// snapshot's listeners. Returns at once; the session lives in its pending operations.
// `country`: the client's, looked up once at accept (unknown without a [geoip] database).
void start_http_session(WorkerContext& worker, boost::asio::ip::tcp::socket socket, size_t listener,
                        boost::asio::ip::tcp::endpoint peer, routing::Country country);

// The same over TLS: the handshake runs first, bounded by the listener's handshake_timeout.
void start_https_session(WorkerContext& worker, tls::Stream stream, size_t listener,
                         boost::asio::ip::tcp::endpoint peer, routing::Country country);

}  // namespace proxy::http
