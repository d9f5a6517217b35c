// Cookie affinity (a pool's affinity = "cookie"), as HAProxy's `cookie NAME insert indirect
// nocache`: the answer to a browser without a valid cookie sets one naming the node it went
// to; the next requests carrying it go to that node while it takes them (routing/affinity.h);
// the cookie is removed from the requests the nodes get, other cookies untouched.
//
// The value is opaque and stable: 16 hex digits of SHA-256 over the pool's and the node's
// names (never the node's address), so two Passeur instances with the same config, and one
// instance across restarts, set and understand the same values. A node's `cookie` key
// replaces it (HAProxy's `server ... cookie s1`).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/http/message_head.h"
#include "routing/health_clock.h"
#include "routing/pool.h"

namespace proxy::http {

// 16 lower-case hex digits of SHA-256("passeur-affinity" NUL pool NUL node).
std::string affinity_cookie_value(std::string_view pool, std::string_view node);

// RFC 6265 4.1.1: a cookie name is a token, a value is cookie-octets (no quotes, comma,
// semicolon, backslash, space or control), here 1 to 64 of them.
bool valid_cookie_name(std::string_view name);
bool valid_cookie_value(std::string_view value);

// The value of the first cookie called `name` in a Cookie field value ("a=1; NAME=v"), with
// its optional double quotes removed; nullopt when there is none.
std::optional<std::string_view> find_cookie(std::string_view field, std::string_view name);

// `field` without the cookies called `name`, the others kept in order, joined by "; ".
// Empty when none is left.
std::string without_cookie(std::string_view field, std::string_view name);

// "Set-Cookie: NAME=VALUE; Path=/; HttpOnly; SameSite=Lax[; Secure]\r\n".
void append_set_cookie(std::string& out, std::string_view name, std::string_view value,
                       bool secure);

// What a request's cookies say in a pool with affinity = "cookie".
struct CookieChoice {
  std::string_view sent;          // the value the client sent; empty when none
  routing::Node* node = nullptr;  // the node it names, when that node still takes its clients
};

// Reads the request's Cookie fields. A node named by the cookie is kept when it still takes
// its clients (up or starting, active or draining: routing::takes_affine) and, when draining
// or in maintenance, its drain_timeout has not passed.
CookieChoice choose_by_cookie(const RequestHead& req, const routing::Pool& pool,
                              routing::Clock::time_point now);

// The header lines a response gets when it sets the cookie: Set-Cookie naming `node` (Secure
// when the client came over TLS), and "Cache-Control: private" (HAProxy's nocache: a shared
// cache must not keep one browser's cookie for others) unless the node's own Cache-Control
// already says private, no-cache or no-store.
void append_affinity_headers(std::string& out, const ResponseHead& res, std::string_view name,
                             const routing::Node& node, bool secure);

// Whether the answer from `node` sets the cookie: unless the client sent `node`'s value.
inline bool sets_cookie(const CookieChoice& c, const routing::Node& node) {
  return c.sent != node.settings().cookie;
}

}  // namespace proxy::http
