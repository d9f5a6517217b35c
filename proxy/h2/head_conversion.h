// HTTP/2 header lists to and from the HTTP/1.1 message heads the other stages work on. A
// request's pseudo-header fields and fields become the text of an HTTP/1.1 request head, which
// the HTTP/1.1 parser then checks and reads into the same RequestHead an HTTP/1.1 client's head
// gives; a response head written for an HTTP/1.1 client becomes an HTTP/2 header list. Pure:
// no nghttp2, no sockets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/message_head.h"

namespace proxy::h2 {

// Gathers one request's header fields, in the order they arrive.
class RequestHeadText {
 public:
  // One field; false when the request is malformed (a pseudo-header field that HTTP/2 does not
  // define for requests, or one repeated). nghttp2 has already checked the rest (RFC 9113 8.2),
  // and lets `:protocol` through only on an extended CONNECT (RFC 8441 4).
  bool add(std::string_view name, std::string_view value);

  // The HTTP/1.1 head text: request line, Host from :authority, the fields (cookies joined into
  // one field, RFC 9113 8.2.3), and Transfer-Encoding: chunked when a body of no declared length
  // follows. An extended CONNECT for a WebSocket (websocket()) becomes the HTTP/1.1 opening
  // handshake (RFC 8441 5): a GET with Upgrade: websocket, Connection: Upgrade,
  // Sec-WebSocket-Key `websocket_key` and Sec-WebSocket-Version (13 unless the client named
  // one); the bytes that follow are the tunnel's, not a body. Empty when the request cannot be
  // one (no :method or :path, a CONNECT that is not for a WebSocket).
  std::string finish(bool body_follows, std::string_view websocket_key = {}) const;

  std::string_view method() const { return method_; }
  std::string_view path() const { return path_; }
  // An extended CONNECT with `:protocol websocket`.
  bool websocket() const;
  // Bytes of the fields as they came (name and value of each), for the access log's bytes_in.
  size_t size() const { return size_; }

 private:
  std::string method_, scheme_, authority_, path_, protocol_;
  std::string fields_;  // "name: value\r\n" lines
  std::string cookie_;
  size_t size_ = 0;
  bool has_content_length_ = false;
  bool has_ws_version_ = false;
  bool bad_ = false;
};

// One field of an HTTP/2 header list: a lower-case name and its value.
struct Field {
  std::string name;
  std::string value;
};

// The HTTP/2 header list of a response head written for HTTP/1.1 (build_response_head): the
// status first, names in lower case, and without the fields of the HTTP/1.1 connection
// (Connection and what it names, Keep-Alive, Transfer-Encoding, Upgrade, Proxy-Connection, TE).
std::vector<Field> response_fields(const http::ResponseHead& res);

// The trailer section of a chunked body ("name: value\r\n" lines, as the chunked decoder keeps
// them) as HTTP/2 fields; and HTTP/2 trailer fields as those lines.
std::vector<Field> trailer_fields(std::string_view lines);
void append_trailer_line(std::string& lines, std::string_view name, std::string_view value);

}  // namespace proxy::h2
