#include "proxy/http/access_line.h"

#include <cstdio>

#include "proxy/log_fields.h"

namespace proxy::http {

void format_access_line(const AccessLine& l, std::string& out) {
  char num[64];
  int n = std::snprintf(num, sizeof num, ":%u - ", l.client_port);
  out.append(l.client).append(num, static_cast<size_t>(n));
  append_log_time(out);
  out.append(" \"");
  append_escaped(out, l.method);
  out.push_back(' ');
  append_escaped(out, l.target);
  out.append(l.version == 10 ? " HTTP/1.0\" " : l.version == 20 ? " HTTP/2.0\" " : " HTTP/1.1\" ");
  n = std::snprintf(num, sizeof num, "%u %llu host=\"", l.status,
                    static_cast<unsigned long long>(l.bytes));
  out.append(num, static_cast<size_t>(n));
  append_escaped(out, l.host);
  out.append("\" listener=").append(l.listener);
  out.append(" pool=").append(l.pool.empty() ? "-" : l.pool);
  out.append(" node=").append(l.node.empty() ? "-" : l.node);
  out.append(" upstream_time=");
  append_seconds(out, l.upstream_seconds);
  out.append(" request_time=");
  append_seconds(out, l.total_seconds);
  n = std::snprintf(num, sizeof num,
                    " bytes_in=%llu close=", static_cast<unsigned long long>(l.bytes_in));
  out.append(num, static_cast<size_t>(n)).append(l.close.empty() ? "-" : l.close);
  if (!l.country.empty()) out.append(" country=").append(l.country);
  out.push_back('\n');
}

}  // namespace proxy::http
