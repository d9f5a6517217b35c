// Strict, allocation-free parser for HTTP/1.0 and HTTP/1.1 message heads (RFC 9112).
//
// The parser is deliberately narrower than the RFC allows a recipient to be: every line ends in
// CRLF, obs-fold is refused, whitespace before ':' is refused, and message framing
// (Content-Length / Transfer-Encoding) that two implementations could read differently is
// rejected rather than repaired. Nothing is copied: every view points into the parsed buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace proxy::http {

struct HeaderField {
  std::string_view name;
  std::string_view value;  // value trimmed of OWS
};
inline constexpr size_t kMaxFields = 100;

enum class HeadStatus : uint8_t {
  Complete,    // a whole head was parsed; head.size says how many bytes it used
  Incomplete,  // need more bytes (and the data so far is valid up to where it could be checked)
  Bad,         // malformed: answer 400 (request) / 502 (response)
  TooLarge,    // head longer than max_size, or more than kMaxFields fields: 431 / 502
  BadVersion,  // well-formed but not HTTP/1.0 or HTTP/1.1: 505 / 502
};

struct MessageHead {
  unsigned version = 11;  // 10 or 11 as parsed; 20 for a request that came over HTTP/2
  HeaderField fields[kMaxFields];
  uint16_t nfields = 0;
  size_t size = 0;  // bytes of the head, final CRLF CRLF included
  std::optional<uint64_t> content_length;
  bool chunked = false;  // Transfer-Encoding whose final coding is chunked
  bool has_transfer_encoding = false;
  // Transfer-Encoding names a coding other than chunked (gzip, deflate...), which Passeur
  // does not decode: a request with one is refused with 501, a response with one is Bad.
  bool other_coding = false;
  bool connection_close = false;       // Connection lists "close"
  bool connection_keep_alive = false;  // Connection lists "keep-alive"
  bool connection_upgrade = false;     // Connection lists "upgrade"
  std::string_view upgrade;            // Upgrade header value (first), empty if none
  // Does Connection name this field (so it is hop-by-hop)? Case-insensitive.
  bool connection_names(std::string_view field_name) const;
  // First field with this name (case-insensitive), or empty view.
  std::string_view get(std::string_view name) const;
  // Keep-alive per RFC 9112 9.3: HTTP/1.1 unless "close"; HTTP/1.0 only with "keep-alive".
  bool keep_alive() const;
};

struct RequestHead : MessageHead {
  std::string_view method;
  std::string_view target;
  std::string_view host;  // the Host value (first), empty if none
  unsigned host_count = 0;
  bool expect_continue = false;  // Expect: 100-continue (case-insensitive)
};

struct ResponseHead : MessageHead {
  unsigned status = 0;  // 100..999
  std::string_view reason;
};

// Parse a head at the start of `data`. Views in `out` point into `data`. `out` is only
// meaningful when Complete is returned.
//
// Framing rules applied on top of the syntax:
//  - Content-Length: digits only (or a list of identical digit strings), at most 2^63 - 1;
//    several fields must carry the same value.
//  - Transfer-Encoding fields are combined as one list of tokens; "chunked" may appear at most
//    once. A Transfer-Encoding in an HTTP/1.0 message is refused (RFC 9112 6.1).
//  - Requests: Transfer-Encoding must end in "chunked" and must not come with Content-Length.
//  - Responses: Transfer-Encoding overrides Content-Length (content_length is cleared); it must
//    be "chunked" alone: another coding (gzip, or a body delimited by the close under a coding)
//    could not be passed on exactly, and is refused as Bad.
HeadStatus parse_request_head(std::string_view data, size_t max_size, RequestHead& out);
HeadStatus parse_response_head(std::string_view data, size_t max_size, ResponseHead& out);

// Case-insensitive ASCII compare (exposed for the header rewriter).
bool iequals(std::string_view a, std::string_view b);

}  // namespace proxy::http
