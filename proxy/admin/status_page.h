// The status page on the admin listener, for people with a browser:
//
//   GET  /                       the page (the login form, 401, when a token is set and none
//                                was given); it refreshes itself from the two JSON below
//   GET  /status.json            every number on the page (status_json.h)
//   GET  /status/history.json    sparkline points (?after=SEQ: only newer ones)
//   GET  /status/page.css, /status/page.js   built into the binary (no token needed)
//   GET  /login, POST /login     the token, once, for a session cookie (HttpOnly,
//                                SameSite=Strict); POST /logout ends it
//   POST /status/action          action=drain|ready|maintenance (pool, node) or reload; first
//                                answered with a confirmation form, done with confirm=yes
//
// The same token rule as the API: with a token, a request needs the session cookie (or
// "Authorization: Bearer"). A POST also needs its form's CSRF token and must not come from
// another site (Origin, Sec-Fetch-Site); refusals and actions are logged with the client's
// address.
#pragma once

#include <string_view>

#include "proxy/admin/api.h"

namespace proxy::admin {

inline constexpr std::string_view kSessionCookie = "passeur_session";

// Whether `path` (without query) is the status page's.
bool is_status_path(std::string_view path);

Response handle_status(const Request& request, const Context& context);

}  // namespace proxy::admin
