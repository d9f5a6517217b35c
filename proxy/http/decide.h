// What happens to a request once its head is parsed: refused as malformed, redirected to
// https, answered 404 or 403 or 413, or proxied to a route's pool. A pure function of the head,
// the listener it came in on, the config snapshot and the client: no sockets, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "proxy/http/message_head.h"
#include "proxy/snapshot.h"
#include "routing/country.h"

namespace proxy::http {

// Requests under this path on a redirecting listener go to the route made for them (certbot).
inline constexpr std::string_view kAcmePrefix = "/.well-known/acme-challenge/";

// Where a request came from.
struct RequestOrigin {
  const ListenerSettings& listener;
  const Snapshot& snapshot;
  bool tls = false;  // the client's connection is TLS
  const boost::asio::ip::address& client;
  routing::Country country;  // of the client (unknown without a [geoip] database)
};

struct Decision {
  enum class Kind : uint8_t {
    Reject,     // malformed or not allowed before routing: `status` and `text`, then close
    Redirect,   // 301 to https://host/target (a plain listener with redirect_to_https)
    NoRoute,    // 404
    Forbidden,  // 403: the route's access rule refuses the client
    TooLarge,   // 413: the declared body is over the route's max_body
    Proxy,      // to the pool of `route`, for `target`
  };
  Kind kind = Kind::Reject;
  unsigned status = 0;    // Reject
  std::string_view text;  // Reject
  // The request's host and origin-form target: an absolute-form target (RFC 9112 3.2.2) gives
  // both. Views into the head's bytes.
  std::string_view host;
  std::string_view target;
  size_t route = 0;  // Forbidden, TooLarge, Proxy: the index of the matched route

  static Decision reject(unsigned status, std::string_view text) {
    return {.kind = Kind::Reject, .status = status, .text = text};
  }
};

Decision decide(const RequestHead& req, const RequestOrigin& origin);

}  // namespace proxy::http
