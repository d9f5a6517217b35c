// Tells the service manager where the process stands, through sd_notify(3): READY=1 once every
// listener accepts, RELOADING=1 and READY=1 around a reload, STOPPING=1 when a stop begins, and
// a one-line STATUS= shown by `systemctl status`. Without NOTIFY_SOCKET (not started by systemd
// as Type=notify) every call does nothing.
#pragma once

#include <string_view>

namespace proxy {

class ServiceNotifier {
 public:
  // Every listener is bound and every worker runs.
  static void ready(std::string_view status);
  // A reload begins (SIGHUP or the admin API); end it with reloaded().
  static void reloading();
  // The reload is over, accepted or rejected: the process serves again.
  static void reloaded(std::string_view status);
  // A graceful stop begins.
  static void stopping(std::string_view status);
  // True when a service manager listens (NOTIFY_SOCKET is set).
  static bool enabled();

 private:
  static void send(std::string_view state, std::string_view status);
};

}  // namespace proxy
