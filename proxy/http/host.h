// Checking the Host a request names, before it is routed or reflected in a redirect.
#pragma once

#include <string_view>

namespace proxy::http {

// A Host value (RFC 9110 7.2): a registered name or an IPv4 address, or an IPv6 literal in
// brackets, and an optional port. Anything else is refused rather than routed or reflected.
bool valid_host(std::string_view h);

}  // namespace proxy::http
