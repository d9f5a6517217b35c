#include "proxy/http/host.h"

#include <cctype>

namespace proxy::http {

bool valid_host(std::string_view h) {
  if (h.empty()) return false;
  if (h.front() == '[') {
    size_t close = h.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : h.substr(1, close - 1))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    h.remove_prefix(close + 1);
    if (h.empty()) return true;
    if (h.front() != ':') return false;
  } else {
    size_t colon = h.find(':');
    std::string_view name = h.substr(0, colon);
    if (name.empty()) return false;
    for (char c : name) {
      auto u = static_cast<unsigned char>(c);
      if (!(std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%' ||
            c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' ||
            c == '+' || c == ',' || c == ';' || c == '='))
        return false;
    }
    if (colon == std::string_view::npos) return true;
    h.remove_prefix(colon);
  }
  h.remove_prefix(1);  // the ':' before the port
  if (h.size() > 5) return false;
  for (char c : h)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace proxy::http
