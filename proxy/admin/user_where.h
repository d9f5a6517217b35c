// Which node of each mail pool with user affinity a user is on or would get, and why: the
// admin API's GET /api/v1/users/USER[?pool=NAME] and `passeur ctl where USER`.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/snapshot.h"
#include "routing/user_affinity.h"

namespace proxy::admin {

// {"user": NAME, "pools": [one object per pool with affinity = "user" (or the one asked)]}.
// nullopt and `error` when the pool asked for does not exist or has no user affinity.
std::optional<boost::json::object> user_where_json(const Snapshot& snapshot,
                                                   const routing::UserAffinity& table,
                                                   std::string_view user,
                                                   std::optional<std::string_view> pool,
                                                   std::string& error);

// The text `passeur ctl where` prints for that JSON; empty and `error` when it is not such JSON.
std::string format_user_where(std::string_view text, std::string& error);

}  // namespace proxy::admin
