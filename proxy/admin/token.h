// The admin API's bearer token: read from a file (the config's [server] admin_token_file) and
// compared in constant time.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace proxy::admin {

// The token in `path`: the file's text without surrounding whitespace (a trailing newline is
// expected). It must be 16 to 1024 visible ASCII characters with no space inside. nullopt, and
// `error` says why ("cannot read: No such file or directory", "is empty", ...), otherwise.
std::optional<std::string> read_token_file(const std::string& path, std::string& error);

// Compares a presented token with the expected one in time that depends only on the length of
// `expected`: an attacker learns nothing from timing but, at most, that the lengths differ.
bool token_equal(std::string_view presented, std::string_view expected);

// The token of an "Authorization: Bearer <token>" value (scheme case-insensitive), or empty.
std::string_view bearer_token(std::string_view authorization);

}  // namespace proxy::admin
