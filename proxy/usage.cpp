#include "proxy/usage.h"

namespace proxy {

const char* const kUsage =
    "usage: passeur [run] -c FILE     run the proxy with this config\n"
    "       passeur check -c FILE     validate a config file and exit\n"
    "       passeur ctl [--admin ADDR] [--token-file F] [-c FILE] COMMAND\n"
    "                                 talk to a running passeur's admin API:\n"
    "                                 pools | drain POOL NODE | ready POOL NODE |\n"
    "                                 maintenance POOL NODE | reload |\n"
    "                                 where USER [--pool POOL]\n"
    "       passeur geoip lookup IP [-c FILE | -d DATABASE]\n"
    "                                 the country of an address and what each\n"
    "                                 listener's and route's access rule decides\n"
    "       passeur version           print the version\n"
    "       passeur help [SUBCOMMAND] this text, or the help of one subcommand\n"
    "\n"
    "Signals: SIGHUP reloads the config (a broken file is rejected, the old one stays);\n"
    "SIGTERM or SIGINT stops accepting and lets in-flight requests finish within\n"
    "[server] grace_period.\n"
    "Manual: man passeur. Packaged config: /etc/passeur/passeur.toml.\n";

namespace {

constexpr const char* kRun =
    "usage: passeur [run] -c FILE\n"
    "\n"
    "Runs the proxy with the config FILE (TOML) in the foreground, logging to stderr.\n"
    "The listeners and the admin API are bound before anything is served; a port that\n"
    "cannot be bound, a config error or an unreadable certificate stops the start with\n"
    "exit status 1.\n"
    "\n"
    "  SIGHUP            re-read FILE and every certificate; a broken file is rejected\n"
    "                    and the running config stays; no connection is closed\n"
    "  SIGTERM, SIGINT   stop accepting, let in-flight requests finish within\n"
    "                    [server] grace_period, exit 0\n"
    "\n"
    "Under systemd (NOTIFY_SOCKET set, Type=notify) it reports READY=1 once every\n"
    "listener accepts, RELOADING=1 then READY=1 around each reload, STOPPING=1 when a\n"
    "stop begins, and a STATUS= line.\n";

constexpr const char* kCheck =
    "usage: passeur check -c FILE\n"
    "\n"
    "Validates the config FILE, loads its certificates and opens its [geoip]\n"
    "database, then exits: 0 and\n"
    "\"FILE: ok\" when it would run, 1 with every problem on stderr as\n"
    "FILE:LINE:COLUMN: message otherwise. Nothing is bound. Run it before a reload\n"
    "(the packaged systemd unit runs it before every start and reload).\n";

constexpr const char* kGeoip =
    "usage: passeur geoip lookup IP [-c FILE | -d DATABASE]\n"
    "\n"
    "Looks IP up in the [geoip] database of the config FILE (default\n"
    "/etc/passeur/passeur.toml) and prints its country (an ISO 3166 code, or\n"
    "\"unknown\"), then what each listener's rule (closed at accept) and each route's\n"
    "rule (403 forbidden) decides for it, with the reason: source, country or\n"
    "unknown_country. With -d DATABASE, only the country from that .mmdb file.\n"
    "Exit status 1 when the config or the database cannot be used.\n";

constexpr const char* kVersion =
    "usage: passeur version   (or -v, --version)\n"
    "\n"
    "Prints \"passeur VERSION\" and exits 0.\n";

constexpr const char* kHelp =
    "usage: passeur help [SUBCOMMAND]   (or -h, --help)\n"
    "\n"
    "Prints the summary of every subcommand, or the help of one: run, check, ctl,\n"
    "geoip, version, help.\n";

}  // namespace

const char* subcommand_help(std::string_view name) {
  if (name == "run") return kRun;
  if (name == "check") return kCheck;
  if (name == "geoip") return kGeoip;
  if (name == "version") return kVersion;
  if (name == "help") return kHelp;
  return nullptr;
}

}  // namespace proxy
