// One client connection speaking HTTP/2 (RFC 9113), over TLS after ALPN chose h2, or over plain
// TCP from a client with prior knowledge (h2c). nghttp2 does the framing, HPACK and flow
// control; each stream's request goes through the same stages as an HTTP/1.1 request (decide,
// the upstream connector, header rewriting, the body relay, the access log) to HTTP/1.1 nodes.
#pragma once

#include <cstddef>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "routing/country.h"

namespace proxy {
class WorkerContext;
}
namespace tls {
class Stream;
}

namespace proxy::h2 {

// Over TLS, once the handshake selected h2.
void start_h2_session(WorkerContext& worker, tls::Stream stream, size_t listener,
                      boost::asio::ip::tcp::endpoint peer, routing::Country country);

// Over plain TCP; `received`: bytes already read from the client (its connection preface).
void start_h2c_session(WorkerContext& worker, boost::asio::ip::tcp::socket socket, size_t listener,
                       boost::asio::ip::tcp::endpoint peer, routing::Country country,
                       std::string_view received);

}  // namespace proxy::h2
