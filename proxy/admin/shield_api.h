// The login shield's part of the admin API (api.h lists the paths): its entries as JSON, and
// clearing one entry or all of them, each clear logged with the admin client's address.
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "proxy/admin/api.h"
#include "routing/login_shield.h"

namespace proxy::admin {

// `segments`: the decoded path, starting "api", "v1", "shield". The token was checked.
Response shield_request(const Request& request, const Context& context,
                        const std::vector<std::string>& segments);

// GET /api/v1/shield's body: the shield's settings summary and its `limit` top entries.
boost::json::object shield_json(const routing::LoginShield& shield, size_t limit,
                                routing::Clock::time_point now);

}  // namespace proxy::admin
