#include "routing/access_rule.h"

#include <algorithm>

namespace routing {

std::string_view refusal_name(Refusal r) {
  switch (r) {
    case Refusal::None:
      return "none";
    case Refusal::Source:
      return "source";
    case Refusal::Country:
      return "country";
    case Refusal::UnknownCountry:
      return "unknown_country";
  }
  return "none";
}

Refusal AccessRule::check(const boost::asio::ip::address& source, Country country) const {
  auto in = [&](const std::vector<Cidr>& list) {
    return std::any_of(list.begin(), list.end(), [&](const Cidr& c) { return c.contains(source); });
  };
  if (in(deny_sources_)) return Refusal::Source;
  if (!allow_sources_.empty()) {
    if (in(allow_sources_)) return Refusal::None;
    if (!uses_countries()) return Refusal::Source;
  }
  if (!country.known()) {
    bool pass = allow_unknown_.value_or(allow_countries_.none());
    return pass ? Refusal::None : Refusal::UnknownCountry;
  }
  if (deny_countries_.test(country.index())) return Refusal::Country;
  if (allow_countries_.any() && !allow_countries_.test(country.index())) return Refusal::Country;
  return Refusal::None;
}

}  // namespace routing
