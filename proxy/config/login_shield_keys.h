// [login_shield]: the brute-force shield of mail logins (routing/login_shield.h) and its
// per-dimension tables [login_shield.address], .network, .user and .country.
#pragma once

#include "proxy/config/section.h"
#include "routing/login_shield_settings.h"

namespace proxy::config::detail {

// `have_geoip`: the file has a [geoip] table, which counting per country needs.
void read_login_shield(const toml::table& table, Errors& errors, bool have_geoip,
                       routing::LoginShieldSettings& out);

}  // namespace proxy::config::detail
