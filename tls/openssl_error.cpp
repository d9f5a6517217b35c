#include "tls/openssl_error.h"

#include <openssl/err.h>

namespace tls {

std::string take_openssl_error(std::string_view fallback) {
  std::string out;
  int kept = 0;
  while (unsigned long code = ERR_get_error()) {
    if (kept == 2) continue;
    const char* reason = ERR_reason_error_string(code);
    std::string text;
    if (reason != nullptr) {
      text = reason;
    } else {
      char buffer[256];
      ERR_error_string_n(code, buffer, sizeof buffer);
      text = buffer;
    }
    if (out.find(text) != std::string::npos) continue;
    if (!out.empty()) out += ": ";
    out += text;
    ++kept;
  }
  if (out.empty()) out = fallback;
  return out;
}

}  // namespace tls
