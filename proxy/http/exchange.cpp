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
                                                                  : std::nullopt},
      x.head);
  apply_request_rules({from.snapshot, x.listener, x.route, req, from.client_ip}, x.head);
}

}  // namespace proxy::http
