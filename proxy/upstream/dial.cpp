#include "proxy/upstream/dial.h"

#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "proxy/tcp/proxy_header.h"

namespace proxy::upstream {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Connects an open, non-blocking socket: connect(2), a wait for writability, SO_ERROR. (Asio's
// async_connect does the same plus a poll(2) per connect and, on a socket it did not see made
// non-blocking, an ioctl.)
awaitable<error_code> connect_socket(tcp::socket& s, const tcp::endpoint& ep) {
  if (::connect(s.native_handle(), ep.data(), static_cast<socklen_t>(ep.size())) == 0)
    co_return error_code();
  if (errno != EINPROGRESS && errno != EINTR)
    co_return error_code(errno, asio::error::get_system_category());
  auto [ec] = co_await s.async_wait(tcp::socket::wait_write, use_tuple);
  if (ec) co_return ec;
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  co_return error_code(err, asio::error::get_system_category());
}

}  // namespace

awaitable<DialError> dial(Stream& stream, const tcp::endpoint& to, const DialOptions& options,
                          DialStage* progress) {
  DialStage unused;
  DialStage& stage = progress ? *progress : unused;
  stage = DialStage::Connect;
  tcp::socket& socket = stream.lowest_layer();
  error_code ec;
  if (socket.is_open()) socket.close(ec);
  // Non-blocking from the start, with one ioctl: the connect and what follows both need it.
  socket.open(to.protocol(), ec);
  if (!ec) socket.non_blocking(true, ec);
  if (!ec) ec = co_await connect_socket(socket, to);
  if (ec) co_return DialError{ec, DialStage::Connect};
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);

  if (options.proxy != routing::ProxyProtocol::Off) {
    stage = DialStage::ProxyHeader;
    std::array<uint8_t, tcp_relay::kMaxEncoded> header;
    const tcp::endpoint source =
        options.proxy_about_self ? socket.local_endpoint(ignored) : options.proxy_source;
    const tcp::endpoint destination = options.proxy_about_self ? to : options.proxy_destination;
    const size_t n = tcp_relay::encode_proxy_header(options.proxy, source, destination, header,
                                                    options.client_tls);
    auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(header.data(), n), use_tuple);
    if (wec) co_return DialError{wec, DialStage::ProxyHeader};
  }

  if (options.tls) {
    stage = DialStage::TlsHandshake;
    SSL* ssl = *options.tls ? options.tls->new_ssl(options.server_name) : nullptr;
    if (!ssl) co_return DialError{asio::error::invalid_argument, DialStage::TlsSetup};
    stream.start_tls(ssl);
    auto [hec] = co_await stream.tls()->async_client_handshake(use_tuple);
    if (hec) co_return DialError{hec, DialStage::TlsHandshake};
  }
  co_return DialError{};
}

routing::ConnectError classify(const DialError& e, bool deadline) {
  if (deadline) return routing::ConnectError::Timeout;
  switch (e.stage) {
    case DialStage::Connect:
      return e.ec == asio::error::connection_refused ? routing::ConnectError::Refused
                                                     : routing::ConnectError::Other;
    case DialStage::TlsSetup:
    case DialStage::TlsHandshake:
      return routing::ConnectError::Tls;
    case DialStage::ProxyHeader:
      break;
  }
  return routing::ConnectError::Other;
}

}  // namespace proxy::upstream
