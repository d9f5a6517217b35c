#include "proxy/config/tcp_listener.h"

namespace proxy::config::detail {
namespace {

constexpr std::string_view kHttpOnlyKeys[] = {
    "header_timeout", "keepalive_timeout", "client_timeout", "max_header", "forwarded", "via",
    "hsts",           "redirect_to_https", "http2"};

void read_accept_proxy(const Section& s, Errors& errors, ListenerSettings& out) {
  auto* list = s.array("accept_proxy", "a list of address ranges such as \"192.0.2.0/24\"");
  if (!list) return;
  for (auto& item : *list) {
    auto* text = item.as_string();
    if (!text) {
      errors.add(item.source(),
                 "each accept_proxy entry must be a string such as \"192.0.2.0/24\"");
      continue;
    }
    if (auto cidr = routing::parse_cidr(text->get())) {
      out.accept_proxy.push_back(*cidr);
    } else {
      errors.add(item.source(),
                 "accept_proxy: bad address range " + quoted(text->get()) +
                     " (expected \"ip/prefix\" with the host bits zero, or an address)");
    }
  }
  if (list->empty())
    errors.add(list->source(), "\"accept_proxy\" is empty: omit it to accept no PROXY header");
}

}  // namespace

void read_listener_protocol_keys(const Section& s, Errors& errors,
                                 const std::set<std::string, std::less<>>& pools,
                                 ListenerSettings& out) {
  if (!relays_sessions(out.protocol)) {
    for (auto key : kTcpListenerKeys)
      if (s.find(key))
        s.error(key,
                quoted(key) + " applies only to a listener with protocol = \"tcp\" or \"imap\"");
    return;
  }
  for (auto key : kHttpOnlyKeys)
    if (s.find(key))
      s.error(key, quoted(key) + " applies only to a listener with protocol = \"http\"");
  if (s.require("pool")) {
    if (auto v = s.string("pool")) {
      out.pool = *v;
      if (!pools.contains(*v))
        s.error("pool", "listener names pool " + quoted(*v) + ", which is not defined");
    }
  }
  if (auto v = s.duration("idle_timeout")) out.idle_timeout = *v;
  if (auto v = s.duration("connect_timeout")) out.connect_timeout = *v;
  read_accept_proxy(s, errors, out);
}

void read_mail_listener_keys(const Section& s, bool certificates, ListenerSettings& out) {
  if (!is_mail(out.protocol)) {
    for (auto key : {"login_timeout", "allow_plaintext_auth"})
      if (s.find(key))
        s.error(key, quoted(key) +
                         " applies only to a mail listener (protocol = \"imap\", \"pop3\" or "
                         "\"smtp\")");
    return;
  }
  if (auto v = s.duration("login_timeout")) out.login_timeout = *v;
  if (auto v = s.boolean("allow_plaintext_auth")) out.allow_plaintext_auth = *v;
  if (!out.tls && !certificates && !out.allow_plaintext_auth)
    s.error("protocol", "a plain " + protocol_name(out.protocol) +
                            " listener needs a [[certificate]] for STARTTLS: logins are refused "
                            "before TLS (or set allow_plaintext_auth = true)");
}

void read_pool_proxy_protocol(const Section& s, routing::PoolSettings& out) {
  auto v = s.string("proxy_protocol");
  if (!v) return;
  if (*v == "v1") {
    out.proxy_protocol = routing::ProxyProtocol::V1;
  } else if (*v == "v2") {
    out.proxy_protocol = routing::ProxyProtocol::V2;
  } else if (*v == "off") {
    out.proxy_protocol = routing::ProxyProtocol::Off;
  } else {
    s.error("proxy_protocol",
            "unknown proxy_protocol " + quoted(*v) + " (expected \"v1\", \"v2\" or \"off\")");
  }
}

}  // namespace proxy::config::detail
