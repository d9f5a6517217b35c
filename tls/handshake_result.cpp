#include "tls/handshake_result.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

namespace tls {

std::string_view handshake_result_name(HandshakeResult r) {
  switch (r) {
    case HandshakeResult::Ok:
      return "ok";
    case HandshakeResult::Timeout:
      return "timeout";
    case HandshakeResult::Closed:
      return "closed";
    case HandshakeResult::Protocol:
      return "protocol";
    case HandshakeResult::Cipher:
      return "cipher";
    case HandshakeResult::Certificate:
      return "certificate";
    case HandshakeResult::HttpRequest:
      return "http_request";
    case HandshakeResult::Other:
      break;
  }
  return "other";
}

HandshakeResult classify_handshake_error(const boost::system::error_code& ec, bool timed_out) {
  namespace error = boost::asio::error;
  if (!ec) return HandshakeResult::Ok;
  if (timed_out) return HandshakeResult::Timeout;
  if (ec == error::eof || ec == error::connection_reset || ec == error::broken_pipe ||
      ec == error::connection_aborted)
    return HandshakeResult::Closed;
  if (ec.category() != error::get_ssl_category()) return HandshakeResult::Other;
  const auto e = static_cast<unsigned long>(ec.value());
  if (ERR_GET_LIB(e) != ERR_LIB_SSL) return HandshakeResult::Other;
  switch (ERR_GET_REASON(e)) {
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
      return HandshakeResult::HttpRequest;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_INAPPROPRIATE_FALLBACK:
    case SSL_R_TLSV1_ALERT_INAPPROPRIATE_FALLBACK:
      return HandshakeResult::Protocol;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY:
      return HandshakeResult::Cipher;
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
      return HandshakeResult::Certificate;
    default:
      return HandshakeResult::Other;
  }
}

TlsVersion negotiated_version(const ssl_st* ssl) {
  switch (SSL_version(ssl)) {
    case TLS1_2_VERSION:
      return TlsVersion::Tls12;
    case TLS1_3_VERSION:
      return TlsVersion::Tls13;
    default:
      return TlsVersion::Other;
  }
}

std::string_view tls_version_name(TlsVersion v) {
  switch (v) {
    case TlsVersion::Tls12:
      return "TLSv1.2";
    case TlsVersion::Tls13:
      return "TLSv1.3";
    case TlsVersion::Other:
      break;
  }
  return "unknown";
}

}  // namespace tls
