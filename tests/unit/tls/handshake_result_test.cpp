#include "tls/handshake_result.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

namespace tls {
namespace {

boost::system::error_code ssl_error(int reason) {
  return {static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)),
          boost::asio::error::get_ssl_category()};
}

TEST(HandshakeResult, ClassifiesOpenSslReasons) {
  EXPECT_EQ(classify_handshake_error(ssl_error(SSL_R_HTTP_REQUEST), false),
            HandshakeResult::HttpRequest);
  EXPECT_EQ(classify_handshake_error(ssl_error(SSL_R_UNSUPPORTED_PROTOCOL), false),
            HandshakeResult::Protocol);
  EXPECT_EQ(classify_handshake_error(ssl_error(SSL_R_WRONG_VERSION_NUMBER), false),
            HandshakeResult::Protocol);
  EXPECT_EQ(classify_handshake_error(ssl_error(SSL_R_NO_SHARED_CIPHER), false),
            HandshakeResult::Cipher);
  EXPECT_EQ(classify_handshake_error(ssl_error(SSL_R_TLSV1_ALERT_UNKNOWN_CA), false),
            HandshakeResult::Certificate);
  EXPECT_EQ(classify_handshake_error(ssl_error(SSL_R_BAD_PACKET_LENGTH), false),
            HandshakeResult::Other);
}

TEST(HandshakeResult, ClosedTimeoutAndSuccess) {
  EXPECT_EQ(classify_handshake_error({}, false), HandshakeResult::Ok);
  EXPECT_EQ(classify_handshake_error(boost::asio::error::eof, false), HandshakeResult::Closed);
  EXPECT_EQ(classify_handshake_error(boost::asio::error::connection_reset, false),
            HandshakeResult::Closed);
  // Our deadline cancels the handshake: whatever the error, it is a timeout.
  EXPECT_EQ(classify_handshake_error(boost::asio::error::operation_aborted, true),
            HandshakeResult::Timeout);
  EXPECT_EQ(classify_handshake_error(boost::asio::error::operation_aborted, false),
            HandshakeResult::Other);
}

TEST(HandshakeResult, NamesAreLabelValues) {
  for (size_t i = 0; i < kHandshakeResults; ++i) {
    auto name = handshake_result_name(static_cast<HandshakeResult>(i));
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string_view::npos);
  }
  EXPECT_EQ(tls_version_name(TlsVersion::Tls13), "TLSv1.3");
  EXPECT_EQ(tls_version_name(TlsVersion::Tls12), "TLSv1.2");
}

}  // namespace
}  // namespace tls
