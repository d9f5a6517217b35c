// Operational log lines (start, reload, errors) on stderr, one write per line.
#pragma once

#include <string_view>

namespace proxy {

void log_info(std::string_view msg);
void log_error(std::string_view msg);

}  // namespace proxy
