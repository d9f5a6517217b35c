#include "proxy/http/access_line.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace proxy::http {
namespace {

void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out.append(buf, 4);
    } else {
      out.push_back(c);
    }
  }
}

// "[21/Nov/2026:18:30:00.123 +0000]", the second part formatted once per second per thread.
void append_time(std::string& out) {
  using namespace std::chrono;
  thread_local time_t cached_second = -1;
  thread_local char cached[32];
  thread_local size_t cached_len = 0;
  auto now = system_clock::now();
  time_t secs = system_clock::to_time_t(now);
  if (secs != cached_second) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    cached_len = std::strftime(cached, sizeof cached, "%d/%b/%Y:%H:%M:%S", &tm);
    cached_second = secs;
  }
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  char frac[16];
  int n = std::snprintf(frac, sizeof frac, ".%03d +0000]", static_cast<int>(ms));
  out.push_back('[');
  out.append(cached, cached_len).append(frac, static_cast<size_t>(n));
}

void append_seconds(std::string& out, double s) {
  if (s < 0) {
    out.push_back('-');
    return;
  }
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.3f", s);
  out.append(buf, static_cast<size_t>(n));
}

}  // namespace

void format_access_line(const AccessLine& l, std::string& out) {
  char num[64];
  int n = std::snprintf(num, sizeof num, ":%u - ", l.client_port);
  out.append(l.client).append(num, static_cast<size_t>(n));
  append_time(out);
  out.append(" \"");
  append_escaped(out, l.method);
  out.push_back(' ');
  append_escaped(out, l.target);
  out.append(l.version == 10 ? " HTTP/1.0\" " : " HTTP/1.1\" ");
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
  if (!l.country.empty()) out.append(" country=").append(l.country);
  out.push_back('\n');
}

}  // namespace proxy::http
