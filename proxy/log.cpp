#include "proxy/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace proxy {
namespace {

void write_line(std::string_view level, std::string_view msg) {
  auto now = std::chrono::system_clock::now();
  time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string line;
  line.reserve(msg.size() + 48);
  line.append(ts, n).append(" passeur ").append(level).append(": ").append(msg).append("\n");
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace

void log_info(std::string_view msg) {
  write_line("info", msg);
}
void log_error(std::string_view msg) {
  write_line("error", msg);
}

}  // namespace proxy
