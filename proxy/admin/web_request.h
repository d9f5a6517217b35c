// What the status page reads from a browser's request and writes into its HTML: form fields
// (application/x-www-form-urlencoded), cookies, the same-origin check of state-changing
// requests, and HTML escaping. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace proxy::admin {

// The value of field `name` in a form body ("a=1&b=x+y%21"), decoded; nullopt if absent or
// malformed.
std::optional<std::string> form_field(std::string_view body, std::string_view name);

// The value of cookie `name` in a Cookie header ("a=1; passeur_session=..."), or empty.
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

// Why a POST is refused as cross-site, or "" when it is not: a browser says where a request
// comes from with Origin and Sec-Fetch-Site. An Origin must name this host (the Host header,
// scheme and default port aside); Sec-Fetch-Site must be same-origin (or none: typed by the
// user). Clients that send neither (curl, scripts) pass: the token or the form's CSRF token
// protects those requests.
std::string cross_site_reason(std::string_view origin, std::string_view sec_fetch_site,
                              std::string_view host);

// Text made safe inside HTML elements and double-quoted attributes.
std::string html_escape(std::string_view text);

}  // namespace proxy::admin
