// The admin API's bearer token as a request presents it, compared in constant time (the
// configuration reads it from a file: proxy/config/token_file.h).
#pragma once

#include <string_view>

namespace proxy::admin {

// Compares a presented token with the expected one in time that depends only on the length of
// `expected`: an attacker learns nothing from timing but, at most, that the lengths differ.
bool token_equal(std::string_view presented, std::string_view expected);

// The token of an "Authorization: Bearer <token>" value (scheme case-insensitive), or empty.
std::string_view bearer_token(std::string_view authorization);

}  // namespace proxy::admin
