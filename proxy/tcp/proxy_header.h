// PROXY protocol (HAProxy's spec, versions 1 and 2): the header a proxy puts before the first
// byte of a TCP connection to tell the server the client's address. Encoding for what Passeur
// sends to backends, parsing for what a trusted front load balancer sends to Passeur.
// Pure code: no sockets, no allocation on the encode path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "routing/settings.h"

namespace proxy::tcp_relay {

using ProxyVersion = routing::ProxyProtocol;

// What a v2 header says about the client's TLS connection to Passeur (HAProxy's
// `send-proxy-v2-ssl`): the PP2_TYPE_SSL TLV with the version and cipher sub-TLVs, and the SNI
// as PP2_TYPE_AUTHORITY. Dovecot counts a proxied connection as secured only with it.
struct ClientTls {
  bool used = false;             // false: the client spoke plaintext, no TLV is sent
  std::string_view version;      // "TLSv1.3"
  std::string_view cipher;       // OpenSSL's name: "TLS_AES_128_GCM_SHA256"
  std::string_view server_name;  // SNI, empty when the client sent none
};
// Longest value of each TLV Passeur writes; a longer value is left out of the header rather
// than cut. OpenSSL's version names are 7 bytes and its cipher names at most about 50; an SNI
// is a DNS name, at most 253. Bounded so that every v2 header written fits kMaxV2Header.
constexpr size_t kMaxTlsVersionValue = 32;
constexpr size_t kMaxTlsCipherValue = 64;
constexpr size_t kMaxAuthorityValue = 255;

// Longest headers: v1 is at most 107 bytes (spec); v2 with TCP6 addresses is 52, plus the
// TLVs: SSL (3 + 5 and two sub-TLVs) and AUTHORITY.
constexpr size_t kMaxV1Header = 107;
constexpr size_t kV2FixedHeader = 16;
constexpr size_t kMaxV2Encoded = 16 + 36 +
                                 (3 + 5 + (3 + kMaxTlsVersionValue) + (3 + kMaxTlsCipherValue)) +
                                 (3 + kMaxAuthorityValue);
// What Passeur accepts from a front balancer: v2 TLVs beyond this are refused.
constexpr size_t kMaxV2Header = 16 + 512;
static_assert(kMaxV2Encoded <= kMaxV2Header, "a v2 header Passeur writes must be one it accepts");
constexpr size_t kMaxEncoded = kMaxV2Encoded;

// Writes a header for a connection from `source` to `destination` (the address Passeur was
// reached at) into `out` and returns its length. Both TCP4 when both addresses are IPv4,
// else TCP6 (an IPv4 address is then written IPv4-mapped). A v2 header carries `tls` when the
// client used it; v1 has no room for it. Never more than kMaxEncoded.
size_t encode_proxy_header(ProxyVersion version, const boost::asio::ip::tcp::endpoint& source,
                           const boost::asio::ip::tcp::endpoint& destination,
                           std::span<uint8_t, kMaxEncoded> out, const ClientTls& tls = {});
std::string encode_proxy_header(ProxyVersion version, const boost::asio::ip::tcp::endpoint& source,
                                const boost::asio::ip::tcp::endpoint& destination,
                                const ClientTls& tls = {});

enum class ParseStatus : uint8_t { Complete, NeedMore, Invalid };

struct ParsedHeader {
  ParseStatus status = ParseStatus::NeedMore;
  ProxyVersion version = ProxyVersion::Off;
  size_t length = 0;  // bytes of the header (Complete): the payload starts after them
  // False for v1 "UNKNOWN", v2 LOCAL and v2 UNSPEC/non-TCP: the connection's own addresses
  // stand (health checks of the front balancer).
  bool has_addresses = false;
  boost::asio::ip::tcp::endpoint source;
  boost::asio::ip::tcp::endpoint destination;
  std::string_view error;  // Invalid: why, for the log (a static string)
};

// Parses the start of a connection's bytes. NeedMore: nothing wrong so far, more bytes are
// needed (never asked beyond kMaxV1Header for v1 or the v2 length, up to kMaxV2Header).
// Invalid: not a PROXY header, or a malformed one.
ParsedHeader parse_proxy_header(std::span<const uint8_t> data);

// Do these first bytes of a stream start with a PROXY header? Only whole signatures count
// ("PROXY TCP4 ", "PROXY TCP6 ", "PROXY UNKNOWN", the v2 binary signature): how a header from
// a source not allowed to send one is recognised and refused.
bool looks_like_proxy_header(std::span<const uint8_t> first);

}  // namespace proxy::tcp_relay
