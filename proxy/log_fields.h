// Pieces of access log lines shared by HTTP requests and TCP sessions.
#pragma once

#include <string>
#include <string_view>

namespace proxy {

// "[21/Nov/2026:18:30:00.123 +0000]": now, in UTC, to the millisecond (the second part is
// formatted once per second per thread).
void append_log_time(std::string& out);
// Seconds with three decimals; "-" for a negative value (not measured).
void append_seconds(std::string& out, double seconds);
// Control characters, quotes and backslashes as \xNN: a client cannot forge fields or lines.
void append_escaped(std::string& out, std::string_view s);

}  // namespace proxy
