// Why a TLS handshake ended the way it did, in a few bounded classes fit for a metric label
// and a log field.
#pragma once

#include <cstdint>
#include <string_view>

#include <boost/system/error_code.hpp>

struct ssl_st;

namespace tls {

enum class HandshakeResult : uint8_t {
  Ok,
  Timeout,      // the peer did not finish within the handshake timeout
  Closed,       // the peer closed or reset the connection
  Protocol,     // no TLS version in common, or not TLS at all
  Cipher,       // no cipher suite, group or signature algorithm in common
  Certificate,  // the peer rejected our certificate (an alert about it)
  HttpRequest,  // plain HTTP sent to a TLS port
  Other,
};
inline constexpr size_t kHandshakeResults = 8;

std::string_view handshake_result_name(HandshakeResult r);

// Classifies the error of a failed handshake (`timed_out`: our deadline cancelled it).
HandshakeResult classify_handshake_error(const boost::system::error_code& ec, bool timed_out);

// The protocol version a finished handshake settled on.
enum class TlsVersion : uint8_t { Tls12, Tls13, Other };
inline constexpr size_t kTlsVersions = 3;
TlsVersion negotiated_version(const ssl_st* ssl);
std::string_view tls_version_name(TlsVersion v);

}  // namespace tls
