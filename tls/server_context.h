#pragma once

#include <string>

#include "tls/settings.h"
#include "tls/ssl_handles.h"

namespace tls {

// A new server SSL_CTX carrying the listener policy, the same for the base context of a
// listener and for every certificate context SNI switches to: TLS 1.2 and 1.3 only, the cipher
// list of Mozilla's "intermediate" profile with the client's preference order, groups X25519,
// P-256, P-384 (and ffdhe2048 for the DHE suites of TLS 1.2), ALPN selecting h2 for a
// connection marked with allow_h2() and http/1.1 otherwise, when offered, small idle buffers, one
// session id context. With Records::passeur the context also captures the traffic secrets
// (secret_capture.h), so that Passeur's record layer can take the connection over. Null on failure,
// with `error` set.
SslCtxPtr make_server_context(std::string& error, Records records = Records::openssl);

// Marks a server connection whose listener speaks HTTP/2: ALPN then selects h2 when the client
// offers it. (A mark on the connection, not on a context: SNI moves the connection to the
// context of its certificate, shared by every listener.)
void allow_h2(SSL* ssl);

}  // namespace tls
