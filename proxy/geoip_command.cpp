#include "proxy/geoip_command.h"

#include <cstdio>
#include <string>

#include <boost/asio/ip/address.hpp>

#include "proxy/config/config_loader.h"
#include "proxy/geo_database_file.h"
#include "proxy/usage.h"
#include "routing/access_rule.h"

namespace proxy {
namespace {

constexpr const char* kDefaultConfig = "/etc/passeur/passeur.toml";

std::string verdict(const routing::AccessRule& rule, const boost::asio::ip::address& a,
                    routing::Country country, const char* refused) {
  if (rule.empty()) return "no rule: allowed";
  routing::Refusal r = rule.check(a, country);
  if (r == routing::Refusal::None) return "allowed";
  return std::string(refused) + " (" + std::string(routing::refusal_name(r)) + ")";
}

int usage_error(const std::string& what) {
  std::fprintf(stderr, "passeur geoip: %s\n%s", what.c_str(), subcommand_help("geoip"));
  return 2;
}

}  // namespace

int run_geoip_command(int argc, char** argv) {
  std::string config_path;
  std::string database;
  std::string ip;
  bool lookup = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else if ((a == "-d" || a == "--database") && i + 1 < argc) {
      database = argv[++i];
    } else if (a == "-h" || a == "--help") {
      std::fputs(subcommand_help("geoip"), stdout);
      return 0;
    } else if (!lookup && a == "lookup") {
      lookup = true;
    } else if (lookup && ip.empty()) {
      ip = a;
    } else {
      return usage_error("unknown argument \"" + a + "\"");
    }
  }
  if (!lookup || ip.empty()) return usage_error("expected: lookup IP");
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(ip, ec);
  if (ec) return usage_error("\"" + ip + "\" is not an IP address");

  std::optional<Config> config;
  if (database.empty()) {
    if (config_path.empty()) config_path = kDefaultConfig;
    auto r = config::load_file(config_path);
    for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    if (!r.ok()) return 1;
    config = std::move(*r.config);
    database = config->geoip.database;
    if (database.empty()) {
      std::fprintf(stderr, "%s: no [geoip] database\n", config_path.c_str());
      return 1;
    }
  }
  std::string error;
  auto db = open_geo_database(database, error);
  if (!db) {
    std::fprintf(stderr, "geoip database %s cannot be used: %s\n", database.c_str(), error.c_str());
    return 1;
  }
  routing::Country country = db->lookup(address);
  std::printf("address %s\ncountry %s\ndatabase %s (%s)\n", address.to_string().c_str(),
              std::string(country.label()).c_str(), database.c_str(), db->describe().c_str());
  if (!config) return 0;
  for (const auto& l : config->listeners)
    std::printf("listener \"%s\": %s\n", l.name.c_str(),
                verdict(l.access, address, country, "closed at accept").c_str());
  for (const auto& r : config->routes) {
    std::string name = (r.host ? *r.host : std::string("*")) + r.path_prefix;
    std::printf("route %s: %s\n", name.c_str(),
                verdict(r.access, address, country, "403 forbidden").c_str());
  }
  return 0;
}

}  // namespace proxy
