// The WebSocket opening handshake's key and its answer (RFC 6455 4.1, 4.2.2), for a WebSocket
// over HTTP/2 (RFC 8441) that reaches its node as an HTTP/1.1 Upgrade: the HTTP/2 client sends
// no key, so Passeur makes one for the node and checks the node's Sec-WebSocket-Accept.
#pragma once

#include <string>
#include <string_view>

namespace proxy::h2 {

// 16 random bytes, base64: the Sec-WebSocket-Key of one handshake. Empty if the random
// generator failed.
std::string new_websocket_key();

// The Sec-WebSocket-Accept a node answers to `key`: base64(SHA-1(key + the RFC 6455 GUID)).
std::string websocket_accept(std::string_view key);

}  // namespace proxy::h2
