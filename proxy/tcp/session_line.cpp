#include "proxy/tcp/session_line.h"

#include <cstdio>

#include "proxy/log_fields.h"

namespace proxy::tcp_relay {

void format_session_line(const SessionLine& l, std::string& out) {
  char num[96];
  int n = std::snprintf(num, sizeof num, ":%u - ", l.client_port);
  out.append(l.client).append(num, static_cast<size_t>(n));
  append_log_time(out);
  out.append(" \"")
      .append(l.kind)
      .append(" ")
      .append(l.listener)
      .append("\" listener=")
      .append(l.listener);
  out.append(" pool=").append(l.pool.empty() ? "-" : l.pool);
  out.append(" node=").append(l.node.empty() ? "-" : l.node);
  n = std::snprintf(num, sizeof num, " bytes_in=%llu bytes_out=%llu connect_time=",
                    static_cast<unsigned long long>(l.bytes_in),
                    static_cast<unsigned long long>(l.bytes_out));
  out.append(num, static_cast<size_t>(n));
  append_seconds(out, l.connect_seconds);
  out.append(" duration=");
  append_seconds(out, l.total_seconds);
  out.append(" close=").append(l.cause);
  if (!l.country.empty()) out.append(" country=").append(l.country);
  if (l.mail) {
    if (l.user.empty()) {
      out.append(" user=-");
    } else {
      out.append(" user=\"");
      append_escaped(out, l.user);
      out.push_back('"');
    }
    out.append(" login=").append(l.login);
  }
  out.push_back('\n');
}

}  // namespace proxy::tcp_relay
