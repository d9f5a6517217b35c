// The admin API's bearer token as the configuration reads it: from a file (the config's
// [server] admin_token_file, or passeur ctl --token-file).
#pragma once

#include <optional>
#include <string>

namespace proxy::config {

// The token in `path`: the file's text without surrounding whitespace (a trailing newline is
// expected). It must be 16 to 1024 visible ASCII characters with no space inside. nullopt, and
// `error` says why ("cannot read: No such file or directory", "is empty", ...), otherwise.
std::optional<std::string> read_token_file(const std::string& path, std::string& error);

}  // namespace proxy::config
