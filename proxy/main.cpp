// passeur: an edge proxy for small hosters.
//   passeur -c FILE           run with this config
//   passeur check -c FILE     validate a config file (errors as FILE:LINE:COL: message)
//   passeur ctl ...           the admin API from the command line
//   passeur geoip lookup IP   the country of an address and the access rules' verdicts
//   passeur version
//   passeur help [SUBCOMMAND]
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "proxy/admin/ctl.h"
#include "proxy/config/config_loader.h"
#include "proxy/geo_database_file.h"
#include "proxy/geoip_command.h"
#include "proxy/log.h"
#include "proxy/server.h"
#include "proxy/usage.h"
#include "tls/cert_store.h"
#include "tls/client_tls.h"

namespace {

using proxy::kUsage;

// `passeur help [SUBCOMMAND]`.
int help(int argc, char** argv) {
  if (argc < 3) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::string name = argv[2];
  if (name == "ctl") {
    char ctl[] = "ctl";
    char flag[] = "--help";
    char* args[] = {argv[0], ctl, flag, nullptr};
    return proxy::admin::run_ctl(3, args);
  }
  if (const char* text = proxy::subcommand_help(name)) {
    std::fputs(text, stdout);
    return 0;
  }
  std::fprintf(stderr, "passeur: no subcommand \"%s\"\n%s", name.c_str(), kUsage);
  return 2;
}

int check(const std::string& path) {
  auto r = proxy::config::load_file(path);
  for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
  if (!r.ok()) return 1;
  // Like nginx -t and haproxy -c: the certificates are loaded too.
  if (!r.config->certificates.empty()) {
    bool capturing = false;  // the contexts of listeners with tls_records = "passeur" too
    for (const auto& l : r.config->listeners)
      capturing = capturing || (l.tls && l.tls_options.records == tls::Records::passeur);
    auto certs = tls::CertStore::load(r.config->certificates, capturing);
    for (const auto& w : certs.warnings)
      std::fprintf(stderr, "%s: warning: %s\n", path.c_str(), w.c_str());
    for (const auto& e : certs.errors) std::fprintf(stderr, "%s: %s\n", path.c_str(), e.c_str());
    if (!certs.errors.empty()) return 1;
  }
  if (const std::string& db = r.config->geoip.database; !db.empty()) {
    std::string error;
    if (!proxy::open_geo_database(db, error)) {
      std::fprintf(stderr, "%s: [geoip] database \"%s\" cannot be used: %s\n", path.c_str(),
                   db.c_str(), error.c_str());
      return 1;
    }
  }
  // STARTTLS to mail nodes: the CA file is loaded as a reload would.
  for (const auto& p : r.config->pools) {
    if (p.node_tls == routing::NodeTls::None) continue;
    if (!p.node_verify)
      std::fprintf(stderr,
                   "%s: warning: [pool.%s] node_verify = false: the nodes' certificates are not "
                   "checked, whoever can intercept the path to a node reads the logins\n",
                   path.c_str(), p.name.c_str());
    std::string error;
    if (!tls::ClientTls::make(p.node_verify, p.node_ca_file, error)) {
      std::fprintf(stderr, "%s: [pool.%s] node_ca_file: %s\n", path.c_str(), p.name.c_str(),
                   error.c_str());
      return 1;
    }
  }
  std::printf("%s: ok\n", path.c_str());
  return 0;
}

int run(const std::string& path) {
  auto r = proxy::config::load_file(path);
  for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
  if (!r.ok()) return 1;
  try {
    proxy::Server server(std::move(*r.config));
    return server.run();
  } catch (const std::exception& e) {
    proxy::log_error(e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "ctl") == 0) return proxy::admin::run_ctl(argc, argv);
  if (argc > 1 && std::strcmp(argv[1], "help") == 0) return help(argc, argv);
  if (argc > 1 && std::strcmp(argv[1], "geoip") == 0) return proxy::run_geoip_command(argc, argv);
  std::string command = "run";
  std::string config;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc) {
      config = argv[++i];
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "-v" || a == "--version" || a == "version") {
      std::printf("passeur %s\n", PASSEUR_VERSION);
      return 0;
    } else if (i == 1 && (a == "run" || a == "check")) {
      command = a;
    } else {
      std::fprintf(stderr, "passeur: unknown argument \"%s\"\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (config.empty()) {
    std::fprintf(stderr, "passeur: -c FILE is required\n%s", kUsage);
    return 2;
  }
  return command == "check" ? check(config) : run(config);
}
