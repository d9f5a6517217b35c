// Host and path routing: which route (and so which pool) a request goes to.
//
// Host groups are tried from most to least specific: the exact name, then wildcards from the
// longest suffix to the shortest ("*.example.coop" matches "a.example.coop" and
// "a.b.example.coop", not "example.coop"), then routes with no host. Within a group the longest
// path prefix wins (plain string prefix, as nginx's prefix locations); a group with no matching
// prefix falls through to the next one. Equal routes: the first in the file wins.
//
// The target "*" (OPTIONS *) goes to the most specific host group that has routes: to its route
// whose path_prefix is "*", else to its route with the shortest prefix. A "*" route matches
// nothing else.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "routing/settings.h"

namespace routing {

class RouteTable {
 public:
  explicit RouteTable(const std::vector<RouteSettings>& routes);

  // The index (into the vector given at construction) of the route for this request, if any.
  // `host` is the Host header as received (port, upper case and a trailing dot are ignored);
  // `target` is the request target (a query string is ignored).
  std::optional<size_t> match(std::string_view host, std::string_view target) const;

  // "WebMail.Example.COOP:443" -> "webmail.example.coop"; "[::1]:80" -> "[::1]".
  // Writes into `buf` (256 bytes); a host longer than that yields an empty view.
  static std::string_view normalize_host(std::string_view host, char (&buf)[256]);

 private:
  struct Entry {
    std::string prefix;
    size_t index;
  };
  using Group = std::vector<Entry>;  // longest prefix first
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, Group, Hash, std::equal_to<>>;

  static std::optional<size_t> match_group(const Group& g, std::string_view path);

  Map exact_;
  Map wildcard_;  // key: the suffix with its leading dot, ".example.coop"
  Group any_;
};

}  // namespace routing
