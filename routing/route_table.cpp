#include "routing/route_table.h"

#include <algorithm>

namespace routing {

RouteTable::RouteTable(const std::vector<RouteSettings>& routes) {
  for (size_t i = 0; i < routes.size(); ++i) {
    const auto& r = routes[i];
    Entry e{r.path_prefix, i};
    if (!r.host) {
      any_.push_back(std::move(e));
      continue;
    }
    char buf[256];
    std::string host(normalize_host(*r.host, buf));
    if (host.starts_with("*."))
      wildcard_[host.substr(1)].push_back(std::move(e));
    else
      exact_[host].push_back(std::move(e));
  }
  auto sort_group = [](Group& g) {
    std::stable_sort(g.begin(), g.end(), [](const Entry& a, const Entry& b) {
      return a.prefix.size() > b.prefix.size();
    });
  };
  for (auto& [k, g] : exact_) sort_group(g);
  for (auto& [k, g] : wildcard_) sort_group(g);
  sort_group(any_);
}

std::string_view RouteTable::normalize_host(std::string_view host, char (&buf)[256]) {
  if (host.empty()) return {};
  if (host.front() == '[') {  // IPv6 literal: keep the brackets, drop the port
    auto close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.size() > sizeof(buf)) return {};
  for (size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  return {buf, host.size()};
}

std::optional<size_t> RouteTable::match_group(const Group& g, std::string_view path) {
  if (path == "*") {
    // OPTIONS *: the group's route for "*", else its route with the shortest prefix.
    const Entry* shortest = nullptr;
    for (const Entry& e : g) {
      if (e.prefix == "*") return e.index;
      if (!shortest || e.prefix.size() < shortest->prefix.size()) shortest = &e;
    }
    if (shortest) return shortest->index;
    return std::nullopt;
  }
  for (const Entry& e : g)
    if (path.starts_with(e.prefix)) return e.index;
  return std::nullopt;
}

std::optional<size_t> RouteTable::match(std::string_view host, std::string_view target) const {
  std::string_view path = target.substr(0, target.find('?'));
  char buf[256];
  std::string_view h = normalize_host(host, buf);
  if (!h.empty()) {
    if (!exact_.empty()) {
      if (auto it = exact_.find(h); it != exact_.end())
        if (auto m = match_group(it->second, path)) return m;
    }
    if (!wildcard_.empty()) {
      for (size_t dot = h.find('.'); dot != std::string_view::npos; dot = h.find('.', dot + 1)) {
        if (dot == 0) continue;
        if (auto it = wildcard_.find(h.substr(dot)); it != wildcard_.end())
          if (auto m = match_group(it->second, path)) return m;
      }
    }
  }
  return match_group(any_, path);
}

}  // namespace routing
