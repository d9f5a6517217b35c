// Who may connect to a listener or use a route: address ranges first, then countries.
//   1. a source in deny_sources is refused;
//   2. a source in allow_sources is let in without any country check (an office, a monitor);
//   3. with allow_sources and no country rule, every other source is refused;
//   4. a country in deny_countries is refused; with allow_countries, a country not in it is;
//   5. an address the database does not know passes if allow_unknown_country says so; unset,
//      it passes unless allow_countries is set (an allow list lets only what it names in).
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "routing/cidr.h"
#include "routing/country.h"

namespace routing {

enum class Refusal : uint8_t { None, Source, Country, UnknownCountry };
inline constexpr size_t kRefusals = 4;
// "source", "country", "unknown_country" ("none" for None): metric labels and log causes.
std::string_view refusal_name(Refusal r);

class AccessRule {
 public:
  void allow_source(const Cidr& c) { allow_sources_.push_back(c); }
  void deny_source(const Cidr& c) { deny_sources_.push_back(c); }
  void allow_country(Country c) { allow_countries_.set(c.index()); }
  void deny_country(Country c) { deny_countries_.set(c.index()); }
  void set_allow_unknown_country(bool v) { allow_unknown_ = v; }

  // No rule at all: everyone passes (and no lookup is needed for it).
  bool empty() const {
    return allow_sources_.empty() && deny_sources_.empty() && !has_country_rule() &&
           !allow_unknown_.has_value();
  }
  bool has_country_rule() const { return allow_countries_.any() || deny_countries_.any(); }
  // Whether the rule looks at countries at all (and so needs a database).
  bool uses_countries() const { return has_country_rule() || allow_unknown_.has_value(); }

  Refusal check(const boost::asio::ip::address& source, Country country) const;

  const std::vector<Cidr>& allow_sources() const { return allow_sources_; }
  const std::vector<Cidr>& deny_sources() const { return deny_sources_; }

 private:
  std::vector<Cidr> allow_sources_;
  std::vector<Cidr> deny_sources_;
  std::bitset<kCountrySlots> allow_countries_;
  std::bitset<kCountrySlots> deny_countries_;
  std::optional<bool> allow_unknown_;
};

}  // namespace routing
