// JSON text for people and scripts alike: Boost.JSON values written with two-space indentation
// and numbers in plain notation (0.75, not 7.5E-1).
#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace proxy::admin {

// `pretty`: one member per line, indented; otherwise compact. Ends without a newline.
std::string to_json_text(const boost::json::value& v, bool pretty = true);

}  // namespace proxy::admin
