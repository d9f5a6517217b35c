// Process-wide families: certificates, config reloads, build info, and the standard process_*
// metrics (read from /proc, as Prometheus's own client libraries do).
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "proxy/metrics/exposition.h"
#include "proxy/metrics/family_builder.h"

namespace proxy::metrics {
namespace {

using prometheus::MetricType;

struct ProcStat {
  double cpu_seconds = 0;
  double start_unix = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
};

double boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

ProcStat read_proc_stat() {
  ProcStat p;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return p;
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return p;
  std::istringstream fields(line.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x;) f.push_back(x);
  // f[0] is field 3 (state): utime = 14, stime = 15, starttime = 22, vsize = 23, rss = 24.
  auto field = [&](size_t n) { return n - 3 < f.size() ? std::stod(f[n - 3]) : 0.0; };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  p.cpu_seconds = (field(14) + field(15)) / ticks;
  p.start_unix = boot_time() + field(22) / ticks;
  p.virtual_bytes = field(23);
  p.resident_bytes = field(24) * static_cast<double>(sysconf(_SC_PAGESIZE));
  return p;
}

double open_fds() {
  double n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
    n -= 1;  // the directory stream's own descriptor
  }
  return n;
}

}  // namespace

void collect_process(const Sources& s, std::vector<prometheus::MetricFamily>& out) {
  FamilyBuilder expiry(out, "passeur_certificate_expiry_timestamp_seconds",
                       "When each loaded certificate expires (its notAfter, unix seconds).",
                       MetricType::Gauge);
  if (s.certs)
    for (const auto& c : s.certs->certificates())
      expiry.gauge({{"path", c.cert_path}, {"name", c.names.empty() ? "" : c.names.front()}},
                   static_cast<double>(c.not_after));

  FamilyBuilder reloads(out, "passeur_config_reloads_total",
                        "Configuration reloads (SIGHUP or the admin API) by result.",
                        MetricType::Counter);
  FamilyBuilder last_ok(out, "passeur_config_last_reload_successful",
                        "1 when the last reload was applied, 0 when it was rejected.",
                        MetricType::Gauge);
  FamilyBuilder last_success(out, "passeur_config_last_reload_success_timestamp_seconds",
                             "When the configuration was last loaded successfully.",
                             MetricType::Gauge);
  if (s.reloads) {
    reloads.counter({{"result", "success"}}, static_cast<double>(s.reloads->success.load()));
    reloads.counter({{"result", "failure"}}, static_cast<double>(s.reloads->failure.load()));
    last_ok.gauge({}, s.reloads->last_ok.load() ? 1 : 0);
    last_success.gauge({}, static_cast<double>(s.reloads->last_success_unix.load()));
  }

  FamilyBuilder build(out, "passeur_build_info", "Passeur's version (the value is always 1).",
                      MetricType::Gauge);
  build.gauge({{"version", PASSEUR_VERSION}}, 1);

  const ProcStat p = read_proc_stat();
  FamilyBuilder(out, "process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
                MetricType::Counter)
      .counter({}, p.cpu_seconds);
  FamilyBuilder(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                MetricType::Gauge)
      .gauge({}, p.resident_bytes);
  FamilyBuilder(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                MetricType::Gauge)
      .gauge({}, p.virtual_bytes);
  FamilyBuilder(out, "process_open_fds", "Open file descriptors.", MetricType::Gauge)
      .gauge({}, open_fds());
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0)
    FamilyBuilder(out, "process_max_fds", "Maximum number of open file descriptors.",
                  MetricType::Gauge)
        .gauge({}, static_cast<double>(lim.rlim_cur));
  FamilyBuilder(out, "process_start_time_seconds",
                "Start time of the process since the unix epoch, in seconds.", MetricType::Gauge)
      .gauge({}, p.start_unix > 0 ? p.start_unix : static_cast<double>(s.start_unix));
}

}  // namespace proxy::metrics
