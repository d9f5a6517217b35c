#include "proxy/service_notifier.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "proxy/log.h"

namespace proxy {

namespace {

// systemd 253's Type=notify-reload wants the time the reload began with RELOADING=1; older
// versions ignore the field.
std::string monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::to_string(static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000);
}

std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

}  // namespace

bool ServiceNotifier::enabled() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket && *socket;
}

void ServiceNotifier::send(std::string_view state, std::string_view status) {
  if (!enabled()) return;
  std::string message(state);
  if (!status.empty())
    message.append(message.empty() ? "" : "\n").append("STATUS=").append(one_line(status));
  int r = sd_notify(0, message.c_str());
  if (r < 0) log_error("sd_notify: " + std::string(std::strerror(-r)));
}

void ServiceNotifier::ready(std::string_view status) {
  send("READY=1", status);
}

void ServiceNotifier::reloading() {
  send("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec(), "reloading the configuration");
}

void ServiceNotifier::reloaded(std::string_view status) {
  send("READY=1", status);
}

void ServiceNotifier::stopping(std::string_view status) {
  send("STOPPING=1", status);
}

}  // namespace proxy
