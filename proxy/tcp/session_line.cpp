#include "proxy/tcp/session_line.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace proxy::tcp_relay {
namespace {

void append_time(std::string& out) {
  using namespace std::chrono;
  auto now = system_clock::now();
  time_t secs = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  size_t n = std::strftime(buf, sizeof buf, "[%d/%b/%Y:%H:%M:%S", &tm);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  int m = std::snprintf(buf + n, sizeof buf - n, ".%03d +0000]", static_cast<int>(ms));
  out.append(buf, n + static_cast<size_t>(m));
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

void format_session_line(const SessionLine& l, std::string& out) {
  char num[96];
  int n = std::snprintf(num, sizeof num, ":%u - ", l.client_port);
  out.append(l.client).append(num, static_cast<size_t>(n));
  append_time(out);
  out.append(" \"TCP ").append(l.listener).append("\" listener=").append(l.listener);
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
  out.push_back('\n');
}

}  // namespace proxy::tcp_relay
