#include "proxy/http/decide.h"

#include "proxy/http/host.h"

namespace proxy::http {

Decision decide(const RequestHead& req, const RequestOrigin& origin) {
  if (req.method == "CONNECT") return Decision::reject(405, "CONNECT not allowed");
  Decision d;
  d.host = req.host;
  d.target = req.target;
  if (d.target.starts_with("http://") || d.target.starts_with("https://")) {
    // absolute-form: its authority replaces Host (RFC 9112 3.2.2)
    auto rest = d.target.substr(d.target.find("//") + 2);
    auto slash = rest.find('/');
    d.host = rest.substr(0, slash);
    d.target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  } else if (d.target.front() != '/' && !(d.target == "*" && req.method == "OPTIONS")) {
    return Decision::reject(400, "bad request target");
  }
  // RFC 9112 6.1: a transfer coding the server does not understand gets 501. Passeur decodes
  // chunked only, and passing the others on would change the message.
  if (req.other_coding) return Decision::reject(501, "transfer coding not implemented");
  if (req.version == 11 && req.host_count != 1)
    return Decision::reject(400, "missing or repeated Host");
  if (req.host_count > 1 || (!d.host.empty() && !valid_host(d.host)))
    return Decision::reject(400, "bad Host");

  const Snapshot& snap = origin.snapshot;
  auto route = snap.routes().match(d.host, d.target);
  if (!origin.tls && origin.listener.redirect_to_https &&
      !(route && snap.route(*route).path_prefix.starts_with(kAcmePrefix) &&
        d.target.starts_with(kAcmePrefix))) {
    // Plain listener in front of a TLS one: everything moves to https, except ACME
    // challenges that a route made for them sends to the certbot host.
    if (d.host.empty()) return Decision::reject(400, "missing Host");
    d.kind = Decision::Kind::Redirect;
    return d;
  }
  if (!route) {
    d.kind = Decision::Kind::NoRoute;
    return d;
  }
  d.route = *route;
  const routing::RouteSettings& settings = snap.route(*route);
  if (!settings.access.empty() &&
      settings.access.check(origin.client, origin.country) != routing::Refusal::None) {
    d.kind = Decision::Kind::Forbidden;
    return d;
  }
  if (settings.max_body && req.content_length.value_or(0) > settings.max_body) {
    d.kind = Decision::Kind::TooLarge;
    return d;
  }
  d.kind = Decision::Kind::Proxy;
  return d;
}

}  // namespace proxy::http
