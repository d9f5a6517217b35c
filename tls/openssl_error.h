#pragma once

#include <string>
#include <string_view>

namespace tls {

// Drains this thread's OpenSSL error queue into one line: the reasons it holds (the first two,
// without repeats), or `fallback` when the queue is empty.
std::string take_openssl_error(std::string_view fallback);

}  // namespace tls
