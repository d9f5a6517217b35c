#include "proxy/health/probe.h"

#include <boost/asio/this_coro.hpp>

#include "proxy/health/probe_connection.h"
#include "proxy/health/probe_dialogues.h"
#include "tls/openssl_error.h"

namespace proxy::health {
namespace {

using boost::asio::awaitable;
using boost::asio::ip::tcp;
using routing::CheckType;

std::string endpoint_text(const tcp::endpoint& ep) {
  const std::string ip = ep.address().to_string();
  const std::string port = std::to_string(ep.port());
  return ep.address().is_v6() ? "[" + ip + "]:" + port : ip + ":" + port;
}

// The TLS server name of a Host value: without its port and IPv6 brackets.
std::string server_name(std::string_view host) {
  if (host.starts_with('[')) {
    const size_t close = host.find(']');
    return std::string(host.substr(1, close == std::string_view::npos ? host.npos : close - 1));
  }
  const size_t colon = host.find(':');
  if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos)
    host = host.substr(0, colon);
  return std::string(host);
}

}  // namespace

std::optional<tcp::endpoint> probe_endpoint(const routing::CheckSettings& check,
                                            const routing::Node& node) {
  if (check.address_port != 0) return tcp::endpoint(check.address_ip, check.address_port);
  const routing::NodeSettings& ns = node.settings();
  if (!ns.resolved()) return std::nullopt;
  return tcp::endpoint(ns.ip, check.port != 0 ? check.port : ns.port);
}

awaitable<ProbeResult> run_probe(const routing::CheckSettings& check, const routing::Node& node,
                                 std::chrono::milliseconds timeout, const tls::ClientTls* tls,
                                 routing::ProxyProtocol proxy) {
  const auto endpoint = probe_endpoint(check, node);
  if (!endpoint) co_return ProbeResult{false, "bad address"};
  const std::string host = check.host.empty() ? endpoint_text(*endpoint) : check.host;
  const std::string name = server_name(host);
  const bool speaks_tls = check.type == CheckType::Tls || (tls && check.type != CheckType::Tcp);
  const bool has_context = tls && *tls;
  upstream::DialOptions options{.tls = speaks_tls && has_context ? tls : nullptr,
                                .server_name = name};
  if (check.type != CheckType::Tcp && check.type != CheckType::None) {
    options.proxy = proxy;
    options.proxy_about_self = true;
  }
  ProbeConnection conn(co_await boost::asio::this_coro::executor, timeout);
  if (const upstream::DialError e = co_await conn.dial(*endpoint, options)) {
    switch (e.stage) {
      case upstream::DialStage::Connect:
        co_return ProbeResult{false, failure_detail(e.ec, "while connecting")};
      case upstream::DialStage::ProxyHeader:
        co_return ProbeResult{false, failure_detail(e.ec, "sending the PROXY header")};
      case upstream::DialStage::TlsSetup:
        co_return ProbeResult{false, tls::take_openssl_error("TLS setup failed")};
      case upstream::DialStage::TlsHandshake:
        co_return ProbeResult{false, failure_detail(e.ec, "in the TLS handshake")};
    }
  }
  if (speaks_tls && !has_context) co_return ProbeResult{false, "no TLS client context"};

  ProbeResult result;
  switch (check.type) {
    case CheckType::Tcp:
      result = {true, "connected"};
      break;
    case CheckType::Tls:
      result = {true, "TLS handshake done"};
      break;
    case CheckType::Http:
      result = co_await http_dialogue(conn, check, host);
      break;
    case CheckType::Imap:
    case CheckType::Pop3:
    case CheckType::Smtp:
      result = co_await mail_dialogue(conn, check.type);
      break;
    case CheckType::None:
      result = {true, "no check"};
      break;
  }
  co_await conn.close();
  co_return result;
}

}  // namespace proxy::health
