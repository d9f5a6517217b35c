// The status page's stylesheet and script (proxy/admin/status/), built into the binary by
// scripts/embed-assets.cmake.
#pragma once

#include <string_view>

namespace proxy::admin {

std::string_view status_page_css();
std::string_view status_page_js();

}  // namespace proxy::admin
