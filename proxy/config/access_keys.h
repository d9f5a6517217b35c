// The access keys of a [[listener]] or a [[route]] (allow_countries, deny_countries,
// allow_unknown_country, allow_sources, deny_sources) and the [geoip] table.
#pragma once

#include "proxy/config/section.h"
#include "proxy/config/settings.h"

namespace proxy::config::detail {

// Reads the access keys of `s` into `out`. `have_geoip`: the file has a [geoip] table; the
// country keys need one.
void read_access_rule(const Section& s, Errors& errors, bool have_geoip, routing::AccessRule& out);

// [geoip]: database (required), header, check_interval.
void read_geoip(const toml::table& table, Errors& errors, GeoipSettings& out);

}  // namespace proxy::config::detail
