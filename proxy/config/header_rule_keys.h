// The header rules of a [[listener]] or a [[route]]: request_headers and response_headers,
// each an array of tables such as { set = "X-Real-IP", value = "$remote_addr" }.
#pragma once

#include <string_view>

#include "proxy/config/section.h"
#include "proxy/http/header_rules.h"

namespace proxy::config::detail {

// Reads both keys of `s` into `out`.
void read_header_rules(const Section& s, Errors& errors, http::HeaderRules& out);

}  // namespace proxy::config::detail
