#include "proxy/http/exchange.h"

#include <optional>

#include "proxy/http/forward_rules.h"
#include "proxy/http/header_rewrite.h"

namespace proxy::http {

void write_forward_head(const ForwardFrom& from, Exchange& x, std::string_view target) {
  RequestHead& req = x.req;
  const Config& config = from.snapshot.config();
  build_request_head(
      req,
      RequestRewrite{.target = target,
                     .client_ip = from.client_ip,
                     // Without [geoip] the header is left alone, as any other.
                     .country_header = config.geoip.database.empty()
                                           ? std::string_view()
                                           : std::string_view(config.geoip.header),
                     .country = from.country.known() ? from.country.code() : std::string_view(),
                     .proto = from.tls ? "https" : "http",
                     .host = req.host,
                     .forwarded = x.listener.forwarded,
                     .via = x.listener.via,
                     .websocket = x.websocket,
                     .chunked = req.chunked,
                     .expect_continue = x.expect,
                     .te_trailers = x.te_trailers,
                     .content_length = x.has_body && !req.chunked ? std::optional(x.content_length)
                                                                  : std::nullopt,
                     .strip_cookie = x.pool.settings().affinity == routing::Affinity::Cookie
                                         ? std::string_view(x.pool.settings().affinity_cookie)
                                         : std::string_view()},
      x.head);
  apply_request_rules({from.snapshot, x.listener, x.route, req, from.client_ip}, x.head);
}

void choose_affinity(Exchange& x, std::string_view client_ip, routing::Clock::time_point now) {
  switch (x.pool.settings().affinity) {
    case routing::Affinity::Cookie:
      x.cookie = choose_by_cookie(x.req, x.pool, now);
      x.upstream.set_affinity(x.cookie.node, {});
      break;
    case routing::Affinity::Source:
      x.upstream.set_affinity(nullptr, client_ip);
      break;
    case routing::Affinity::None:
    case routing::Affinity::User:  // refused on pools of HTTP routes by the config
      break;
  }
}

void count_affinity(const Exchange& x, routing::Clock::time_point now) {
  if (x.cookie.node && x.upstream.lease().node() == x.cookie.node)
    x.cookie.node->affine().record(now);
}

std::string_view response_extra(const Exchange& x, const ResponseHead& res, std::string_view base,
                                bool secure, std::string& buf) {
  const routing::Node* node = x.upstream.lease().node();
  const routing::PoolSettings& ps = x.pool.settings();
  if (ps.affinity != routing::Affinity::Cookie || !node || !sets_cookie(x.cookie, *node))
    return base;
  buf = base;
  append_affinity_headers(buf, res, ps.affinity_cookie, *node, secure);
  return buf;
}

}  // namespace proxy::http
