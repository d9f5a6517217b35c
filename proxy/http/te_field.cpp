#include "proxy/http/te_field.h"

#include "proxy/http/message_head.h"

namespace proxy::http {

bool accepts_trailers(std::string_view te) {
  while (!te.empty()) {
    const size_t comma = te.find(',');
    std::string_view item = te.substr(0, comma);
    te = comma == std::string_view::npos ? std::string_view() : te.substr(comma + 1);
    if (const size_t semi = item.find(';'); semi != std::string_view::npos)
      item = item.substr(0, semi);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, "trailers")) return true;
  }
  return false;
}

}  // namespace proxy::http
