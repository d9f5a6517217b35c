// One client connection on a TCP listener (protocol = "tcp": IMAP, POP3, SMTP, ...):
// PROXY header from a trusted front balancer (accept_proxy), optional TLS termination, the
// least-loaded usable node of the listener's pool (its lease held for the whole session),
// connect with retries on other nodes, a PROXY header to the node when its pool asks, then
// bytes relayed both ways until both sides are done, with half-close, bounded buffers and
// the listener's idle timeout. One access log line per session.
#pragma once

#include <cstddef>

#include <boost/asio/ip/tcp.hpp>

namespace proxy {
class WorkerContext;
}
namespace tls {
class ServerTls;
}

namespace proxy::tcp_relay {

// Takes over an accepted connection. `tls` is set for a listener with tls = true. Returns at
// once; the session lives in its coroutine.
void start_tcp_session(WorkerContext& worker, boost::asio::ip::tcp::socket socket, size_t listener,
                       boost::asio::ip::tcp::endpoint peer, const tls::ServerTls* tls);

}  // namespace proxy::tcp_relay
