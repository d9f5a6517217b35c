// One client connection on a mail listener (protocol = "imap", "pop3" or "smtp"): Passeur
// greets the client and answers it until it logs in (imap_front.h, pop3_front.h,
// smtp_front.h), with STARTTLS on the same certificates as TLS listeners; then it connects to a
// node of the pool, sends the PROXY header as the pool says, replays the login
// (imap_node_login.h, pop3_node_login.h, smtp_node_login.h) and relays the node's answer. A refused
// login goes back to Passeur's dialogue; an accepted one hands both sides to the TCP listener's
// byte relay (relay_session.h), the bytes the client sent after its login first.
#pragma once

#include <cstddef>

#include <boost/asio/ip/tcp.hpp>

namespace proxy {
class WorkerContext;
}
namespace tls {
class ServerTls;
}

namespace proxy::mail {

// Takes over an accepted connection. `tls`: the listener's TLS (tls = true), or for a plain
// listener the context STARTTLS uses (null: no certificate, no STARTTLS).
void start_mail_session(WorkerContext& worker, boost::asio::ip::tcp::socket socket, size_t listener,
                        boost::asio::ip::tcp::endpoint peer, const tls::ServerTls* tls);

}  // namespace proxy::mail
