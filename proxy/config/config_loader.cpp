#include "proxy/config/config_loader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <map>
#include <set>
#include <utility>

#include "proxy/config/toml.h"

#include "proxy/config/access_keys.h"
#include "proxy/config/header_rule_keys.h"
#include "proxy/config/login_shield_keys.h"
#include "proxy/config/pool_affinity.h"
#include "proxy/config/pool_health.h"
#include "proxy/config/pool_node_tls.h"
#include "proxy/config/section.h"
#include "proxy/config/tcp_listener.h"
#include "proxy/config/token_file.h"
#include "proxy/http/affinity_cookie.h"

namespace proxy::config {
namespace {

using namespace detail;

constexpr size_t kMaxFileSize = 16u << 20;

// "WebMail.Example.coop" -> "webmail.example.coop"; "*.Example.coop" -> "*.example.coop".
std::optional<std::string> host_pattern(std::string_view text) {
  std::string host(text);
  for (char& c : host) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::string_view name = host;
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.empty() || name.size() > 253) return std::nullopt;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      if (++label > 63) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  if (label == 0) return std::nullopt;
  return host;
}

bool plain_path(std::string_view path) {
  return std::none_of(path.begin(), path.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '?' || c == '#';
  });
}

class Loader {
 public:
  Loader(const toml::table& root, Errors& errors) : root_(root), errors_(errors) {}

  Config load(const std::string& path) {
    config_.path = path;
    Section top(errors_, root_, "at the top level",
                {"server", "certificate", "listener", "route", "pool", "geoip", "login_shield"});
    if (auto* server = top.table("server", "[server]")) read_server(*server);
    if (auto* geoip = top.table("geoip", "[geoip]")) read_geoip(*geoip, errors_, config_.geoip);
    if (auto* shield = top.table("login_shield", "[login_shield]"))
      read_login_shield(*shield, errors_, root_.get("geoip") != nullptr, config_.login_shield);
    admin_ = parse_endpoint(config_.server.admin_listen);
    if (auto* pools = top.table("pool", "[pool.NAME]")) read_pools(*pools);
    for (auto* table : tables(top, "certificate")) read_certificate(*table);
    for (auto* table : tables(top, "listener")) read_listener(*table);
    for (auto* table : tables(top, "route")) read_route(*table);
    check_pool_affinity();
    check_pool_xclient();
    check_pool_node_tls();
    auto* listeners = top.find("listener");
    if (!listeners || (listeners->is_array() && listeners->as_array()->empty())) {
      errors_.add(listeners ? listeners->source() : root_.source(),
                  "no [[listener]]: at least one is required");
    }
    return std::move(config_);
  }

 private:
  // The tables of an array of tables ([[listener]]), reporting anything else it holds.
  std::vector<const toml::table*> tables(const Section& top, std::string_view key) {
    std::vector<const toml::table*> out;
    auto what = "[[" + std::string(key) + "]]";
    auto* array = top.array(key, what);
    if (!array) return out;
    for (auto& node : *array) {
      if (auto* table = node.as_table()) {
        out.push_back(table);
      } else {
        errors_.add(node.source(), "each " + quoted(key) + " must be a table (" + what + ")");
      }
    }
    return out;
  }

  void read_server(const toml::table& table) {
    Section s(errors_, table, "in [server]",
              {"workers", "admin_listen", "admin_token_file", "access_log", "grace_period"});
    auto& out = config_.server;
    if (auto v = s.integer("workers", 0, 256)) out.workers = static_cast<unsigned>(*v);
    auto listen = s.address("admin_listen");
    if (listen) {
      out.admin_listen = listen->text;
      admin_line_ = static_cast<int>(listen->node->source().begin.line);
    }
    read_admin_token(s, listen);
    if (auto v = s.string("access_log")) {
      if (v->empty()) {
        s.error("access_log", "\"access_log\" must be \"stdout\", \"off\" or a file path");
      } else {
        out.access_log = *v;
      }
    }
    if (auto v = s.duration("grace_period", true)) out.grace_period = *v;
  }

  // The admin API's bearer token, required when admin_listen is not a loopback address.
  void read_admin_token(const Section& s, const std::optional<Address>& listen) {
    auto& out = config_.server;
    if (auto v = s.string("admin_token_file")) {
      std::string error;
      if (v->empty()) {
        s.error("admin_token_file", "\"admin_token_file\" must be a file path");
      } else if (auto token = read_token_file(*v, error)) {
        out.admin_token_file = *v;
        out.admin_token = std::move(*token);
      } else {
        s.error("admin_token_file", "admin_token_file " + quoted(*v) + ": " + error);
      }
    }
    if (listen && !s.find("admin_token_file") && !listen->endpoint.address().is_loopback()) {
      s.error("admin_listen", "admin_listen " + quoted(listen->text) +
                                  " is not a loopback address: set admin_token_file (the admin "
                                  "API needs a bearer token off loopback)");
    }
  }

  void read_listener(const toml::table& table) {
    Section s(errors_, table, "in [[listener]]",
              {"name",
               "listen",
               "protocol",
               "header_timeout",
               "keepalive_timeout",
               "client_timeout",
               "max_header",
               "forwarded",
               "via",
               "http2",
               "tls",
               "default_certificate",
               "tls_records",
               "ktls",
               "handshake_timeout",
               "hsts",
               "redirect_to_https",
               "pool",
               "idle_timeout",
               "connect_timeout",
               "accept_proxy",
               "login_timeout",
               "allow_plaintext_auth",
               "allow_countries",
               "deny_countries",
               "allow_unknown_country",
               "allow_sources",
               "deny_sources",
               "request_headers",
               "response_headers"});
    ListenerSettings out;
    std::optional<Address> listen;
    if (s.require("listen")) listen = s.address("listen");
    if (listen) out.listen = listen->text;
    auto name = s.string("name");
    if (name && name->empty()) {
      s.error("name", "\"name\" must not be empty");
      name.reset();
    }
    out.name = name ? *name : out.listen;
    if (auto v = s.string("protocol")) {
      if (*v == "http") {
        out.protocol = Protocol::Http;
      } else if (*v == "tcp") {
        out.protocol = Protocol::Tcp;
      } else if (*v == "imap") {
        out.protocol = Protocol::Imap;
      } else if (*v == "pop3") {
        out.protocol = Protocol::Pop3;
      } else if (*v == "smtp") {
        out.protocol = Protocol::Smtp;
      } else {
        s.error("protocol", "unknown protocol " + quoted(*v) +
                                " (expected \"http\", \"tcp\", \"imap\", \"pop3\" or \"smtp\")");
      }
    }
    if (auto v = s.duration("header_timeout")) out.header_timeout = *v;
    if (auto v = s.duration("keepalive_timeout")) out.keepalive_timeout = *v;
    if (auto v = s.duration("client_timeout")) out.client_timeout = *v;
    if (auto v = s.size("max_header")) {
      if (*v < 1024 || *v > (1u << 20)) {
        s.error("max_header", "\"max_header\" must be between 1KiB and 1MiB");
      } else {
        out.max_header = static_cast<uint32_t>(*v);
      }
    }
    if (auto v = s.boolean("forwarded")) out.forwarded = *v;
    if (auto v = s.boolean("via")) out.via = *v;
    read_listener_tls(s, out);
    read_listener_http2(s, out);
    read_listener_protocol_keys(s, errors_, pool_names_, out);
    read_mail_listener_keys(s, root_.get("certificate") != nullptr, out);
    read_access_rule(s, errors_, root_.get("geoip") != nullptr, out.access);
    read_header_rules(s, errors_, out.header_rules);
    if (out.protocol != Protocol::Http) {
      for (auto key : {"request_headers", "response_headers"})
        if (s.find(key))
          s.error(key, quoted(key) + " applies only to a listener with protocol = \"http\"");
    }

    bool address_repeated = false;
    if (listen) {
      auto& where = listen->node->source();
      if (auto line = listen_addresses_.repeat(listen->endpoint, where)) {
        errors_.add(where, "duplicate listen address " + quoted(listen->text) + first_used(*line));
        address_repeated = true;
      } else if (admin_ == listen->endpoint) {
        auto at = admin_line_ ? " (line " + std::to_string(admin_line_) + ")" : " (the default)";
        errors_.add(where, "listen address " + quoted(listen->text) +
                               " is also the admin_listen address" + at);
      }
    }
    if (name && !address_repeated) {
      auto& where = s.find("name")->source();
      if (auto line = listener_names_.repeat(*name, where)) {
        errors_.add(where, "duplicate listener name " + quoted(*name) + first_used(*line));
      }
    }
    config_.listeners.push_back(std::move(out));
  }

  void read_certificate(const toml::table& table) {
    Section s(errors_, table, "in [[certificate]]", {"cert", "key"});
    tls::CertSettings out;
    const bool has_cert = s.require("cert");  // both asked for, so that both are reported
    const bool has_key = s.require("key");
    bool ok = has_cert && has_key;
    for (auto [key, field] : {std::pair{"cert", &out.cert}, std::pair{"key", &out.key}}) {
      if (auto v = s.string(key)) {
        if (v->empty()) {
          s.error(key, quoted(key) + " must be a file path");
          ok = false;
        }
        *field = *v;
      } else {
        ok = false;
      }
    }
    if (ok) config_.certificates.push_back(std::move(out));
  }

  // http2 = true (the default) | false on a TLS listener; "prior-knowledge" or false (the
  // default) on a plain one.
  void read_listener_http2(const Section& s, ListenerSettings& out) {
    if (out.protocol != Protocol::Http) return;
    const toml::node* node = s.find("http2");
    if (!node) {  // TLS listeners offer h2 unless told not to; plain ones never guess
      out.http2 = out.tls ? Http2::On : Http2::Off;
      out.tls_options.http2 = out.http2 == Http2::On;
      return;
    }
    if (auto* b = node->as_boolean()) {
      if (b->get() && !out.tls) {
        s.error("http2",
                "\"http2 = true\" needs tls = true (ALPN); a plain listener takes "
                "http2 = \"prior-knowledge\"");
        return;
      }
      out.http2 = b->get() ? Http2::On : Http2::Off;
    } else if (auto* t = node->as_string(); t && t->get() == "prior-knowledge") {
      if (out.tls) {
        s.error("http2",
                "http2 = \"prior-knowledge\" applies only to a plain listener: a TLS "
                "listener offers h2 by ALPN with http2 = true");
        return;
      }
      out.http2 = Http2::PriorKnowledge;
    } else {
      s.error("http2", "\"http2\" must be true, false or \"prior-knowledge\"");
      return;
    }
    out.tls_options.http2 = out.http2 == Http2::On;
  }

  void read_listener_tls(const Section& s, ListenerSettings& out) {
    if (auto v = s.boolean("tls")) out.tls = *v;
    if (auto v = s.string("default_certificate")) out.default_certificate = *v;
    if (auto v = s.string("tls_records")) {
      if (*v == "openssl") {
        out.tls_options.records = tls::Records::openssl;
      } else if (*v == "passeur") {
        out.tls_options.records = tls::Records::passeur;
      } else {
        s.error("tls_records",
                "unknown tls_records " + quoted(*v) + " (expected \"openssl\" or \"passeur\")");
      }
    }
    if (auto v = s.boolean("ktls")) out.tls_options.ktls = *v;
    if (out.tls_options.ktls && out.tls_options.records == tls::Records::passeur) {
      s.error("ktls",
              "\"ktls = true\" needs OpenSSL's record layer: it cannot be used with "
              "tls_records = \"passeur\"");
    }
    if (auto v = s.duration("handshake_timeout")) out.handshake_timeout = *v;
    if (auto v = s.string("hsts")) out.hsts = *v;
    if (auto v = s.boolean("redirect_to_https")) out.redirect_to_https = *v;
    if (out.tls && !root_.get("certificate"))
      errors_.add(s.find("tls")->source(), "\"tls = true\" needs at least one [[certificate]]");
    if (!out.tls) {
      for (auto key : {"default_certificate", "tls_records", "ktls", "hsts", "handshake_timeout"}) {
        // A PROXY header from a front balancer has the handshake's deadline too.
        if (key == std::string_view("handshake_timeout") && s.find("accept_proxy")) continue;
        // A plain mail listener's STARTTLS.
        if (is_mail(out.protocol) && key != std::string_view("hsts")) continue;
        if (s.find(key)) s.error(key, quoted(key) + " applies only to a listener with tls = true");
      }
    } else if (out.redirect_to_https) {
      s.error("redirect_to_https", "\"redirect_to_https\" applies only to a plain listener");
    }
    if (!out.hsts.empty() && out.hsts.find_first_of("\r\n") != std::string::npos)
      s.error("hsts", "\"hsts\" must be a single header value");
  }

  void read_route(const toml::table& table) {
    Section s(errors_, table, "in [[route]]",
              {"host", "path_prefix", "pool", "max_body", "connect_timeout", "response_timeout",
               "tunnel_timeout", "expect_timeout", "allow_countries", "deny_countries",
               "allow_unknown_country", "allow_sources", "deny_sources", "request_headers",
               "response_headers"});
    routing::RouteSettings out;
    bool matchable = true;  // host and path_prefix are valid: check for a repeated route
    if (auto v = s.string("host")) {
      if (auto host = host_pattern(*v)) {
        out.host = std::move(*host);
      } else {
        matchable = false;
        s.error("host", "host " + quoted(*v) + " must be an exact name or \"*.suffix\"" +
                            (*v == "*" ? " (omit \"host\" to match any host)" : ""));
      }
    }
    if (auto v = s.string("path_prefix")) {
      if (*v == "*") {
        out.path_prefix = *v;  // OPTIONS * only
      } else if (!v->starts_with("/")) {
        matchable = false;
        s.error("path_prefix",
                "\"path_prefix\" must start with \"/\" (or be \"*\", for OPTIONS *)");
      } else if (!plain_path(*v)) {
        matchable = false;
        s.error("path_prefix", "\"path_prefix\" must not contain spaces, \"?\" or \"#\"");
      } else {
        out.path_prefix = *v;
      }
    }
    if (s.require("pool")) {
      if (auto v = s.string("pool")) {
        out.pool = *v;
        if (!pool_names_.contains(*v)) {
          s.error("pool", "route names pool " + quoted(*v) + ", which is not defined");
        }
      }
    }
    if (auto v = s.size("max_body")) out.max_body = *v;
    if (auto v = s.duration("connect_timeout")) out.timeouts.connect = *v;
    if (auto v = s.duration("response_timeout")) out.timeouts.response = *v;
    if (auto v = s.duration("tunnel_timeout")) out.timeouts.tunnel = *v;
    if (auto v = s.duration("expect_timeout")) out.timeouts.expect = *v;
    read_access_rule(s, errors_, root_.get("geoip") != nullptr, out.access);
    http::HeaderRules rules;
    read_header_rules(s, errors_, rules);

    auto key = std::pair(out.host.value_or(""), out.path_prefix);
    auto line = matchable ? routes_.repeat(key, s.source()) : std::nullopt;
    if (line) {
      auto host = out.host ? "host " + quoted(*out.host) : std::string("any host");
      errors_.add(s.source(), "route for " + host + " and path_prefix " + quoted(out.path_prefix) +
                                  " repeats the one at line " + std::to_string(*line));
    }
    config_.routes.push_back(std::move(out));
    config_.route_headers.push_back(std::move(rules));
  }

  void read_pools(const toml::table& pools) {
    // Tables are kept sorted by name; pools keep the order of the file.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [key, node] : pools) entries.emplace_back(&key, &node);
    std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) {
      auto& x = a.second->source().begin;
      auto& y = b.second->source().begin;
      return std::pair(x.line, x.column) < std::pair(y.line, y.column);
    });
    for (auto [key, node] : entries) {
      pool_names_.insert(std::string(key->str()));
      if (key->str().empty()) errors_.add(key->source(), "a pool name must not be empty");
      if (auto* table = node->as_table()) {
        read_pool(std::string(key->str()), *table);
      } else {
        errors_.add(node->source(), "pool " + quoted(key->str()) + " must be a table ([pool." +
                                        std::string(key->str()) + "])");
      }
    }
  }

  void read_pool(std::string name, const toml::table& table) {
    auto header = "[pool." + name + "]";
    Section s(
        errors_, table, "in " + header,
        {"balance",          "nodes",        "max_idle",        "idle_timeout", "tls",
         "verify",           "ca",           "check",           "slow_start",   "drain_timeout",
         "passive_failures", "passive_5xx",  "proxy_protocol",  "affinity",     "affinity_cookie",
         "balance_factor",   "user_key",     "mail_id",         "xclient",      "node_tls",
         "node_verify",      "node_ca_file", "node_server_name"});
    routing::PoolSettings out;
    out.name = std::move(name);
    if (auto v = s.string("balance")) {
      if (*v == "least_loaded") {
        out.balance = routing::Balance::LeastLoaded;
      } else if (*v == "round_robin") {
        out.balance = routing::Balance::RoundRobin;
      } else {
        s.error("balance", "unknown balance " + quoted(*v) +
                               " (expected \"least_loaded\" or \"round_robin\")");
      }
    }
    if (auto v = s.integer("max_idle", 0, 65536)) out.max_idle = static_cast<uint32_t>(*v);
    if (auto v = s.duration("idle_timeout")) out.idle_timeout = *v;
    if (auto v = s.boolean("tls")) out.tls = *v;
    if (auto v = s.boolean("verify")) out.tls_verify = *v;
    if (auto v = s.string("ca")) out.tls_ca = *v;
    if (!out.tls && (s.find("verify") || s.find("ca"))) {
      for (auto key : {"verify", "ca"})
        if (s.find(key)) s.error(key, quoted(key) + " applies only to a pool with tls = true");
    }
    read_pool_health(s, errors_, out);
    read_pool_proxy_protocol(s, out);
    read_pool_affinity(s, out);
    if (s.find("affinity")) affinity_at_.emplace(out.name, s.find("affinity"));
    if (auto v = s.boolean("mail_id")) out.mail_id = *v;
    if (auto v = s.boolean("xclient")) out.xclient = *v;
    if (out.xclient) xclient_at_.emplace(out.name, s.find("xclient"));
    read_pool_node_tls(s, out);
    if (s.find("node_tls")) node_tls_at_.emplace(out.name, s.find("node_tls"));
    auto* nodes = s.require("nodes") ? s.array("nodes", "a list of nodes") : nullptr;
    if (nodes) {
      if (nodes->empty()) {
        errors_.add(nodes->source(), "pool " + quoted(out.name) + " has no nodes");
      }
      FirstSeen<std::string> names;
      FirstSeen<tcp::endpoint> addresses;
      FirstSeen<std::string> cookies;
      for (auto& node : *nodes) {
        auto settings = read_node(node, out, names, addresses, cookies);
        if (settings) out.nodes.push_back(std::move(*settings));
      }
      // Nodes without a `cookie` key: the value derived from the names, unless a node's key
      // took it already.
      if (out.affinity == routing::Affinity::Cookie) {
        for (auto& n : out.nodes) {
          if (!n.cookie.empty()) continue;
          n.cookie = http::affinity_cookie_value(out.name, n.name);
          if (cookies.repeat(n.cookie, nodes->source()))
            errors_.add(nodes->source(), "node " + quoted(n.name) + " of " + header +
                                             ": its derived cookie value " + quoted(n.cookie) +
                                             " is another node's \"cookie\"");
        }
      }
    }
    config_.pools.push_back(std::move(out));
  }

  std::optional<routing::NodeSettings> read_node(const toml::node& node,
                                                 const routing::PoolSettings& settings,
                                                 FirstSeen<std::string>& names,
                                                 FirstSeen<tcp::endpoint>& addresses,
                                                 FirstSeen<std::string>& cookies) {
    const std::string pool = "[pool." + settings.name + "]";
    routing::NodeSettings out;
    std::optional<Address> address;
    const toml::node* name_node = &node;
    if (auto* text = node.as_string()) {
      address = Address{text->get(), {}, &node};
      auto endpoint = parse_endpoint(text->get());
      if (!endpoint) {
        errors_.add(node.source(), "bad node address " + quoted(text->get()) +
                                       " (expected \"ip:port\" or \"[ipv6]:port\")");
        return std::nullopt;
      }
      address->endpoint = *endpoint;
      out.name = text->get();
    } else if (auto* table = node.as_table()) {
      Section s(errors_, *table, "in a node of " + pool, {"address", "name", "weight", "cookie"});
      if (s.require("address")) address = s.address("address");
      if (auto v = s.string("name")) {
        if (v->empty()) {
          s.error("name", "\"name\" must not be empty");
        } else {
          out.name = *v;
          name_node = s.find("name");
        }
      }
      if (auto v = s.integer("weight", 1, 256)) out.weight = static_cast<uint32_t>(*v);
      read_node_cookie(s, settings, cookies, out);
      if (!address) return std::nullopt;
      if (out.name.empty()) out.name = address->text;
    } else {
      errors_.add(node.source(), "a node must be an address string or a table");
      return std::nullopt;
    }
    out.address = address->text;
    auto& where = address->node->source();
    if (auto line = addresses.repeat(address->endpoint, where)) {
      errors_.add(where, "duplicate node address " + quoted(address->text) + " in " + pool +
                             first_used(*line));
    } else if (auto line = names.repeat(out.name, name_node->source())) {
      errors_.add(name_node->source(),
                  "duplicate node name " + quoted(out.name) + " in " + pool + first_used(*line));
    }
    return out;
  }

  const toml::table& root_;
  Errors& errors_;
  Config config_;
  std::optional<tcp::endpoint> admin_;
  int admin_line_ = 0;
  std::set<std::string, std::less<>> pool_names_;
  FirstSeen<tcp::endpoint> listen_addresses_;
  FirstSeen<std::string> listener_names_;
  FirstSeen<std::pair<std::string, std::string>> routes_;
  // Which affinity fits each pool's users: none or user for mail listeners (user when not set,
  // except for SMTP submission alone: none), none for TCP listeners, none, cookie or source for
  // HTTP routes.
  void check_pool_affinity() {
    auto pool = [this](const std::string& name) -> routing::PoolSettings* {
      for (auto& p : config_.pools)
        if (p.name == name) return &p;
      return nullptr;
    };
    std::map<std::string, const routing::RouteSettings*, std::less<>> http_route;
    for (const auto& r : config_.routes) http_route.emplace(r.pool, &r);
    // Submission needs no mailbox: a pool only SMTP listeners use is least-loaded by default.
    auto smtp_only = [this](const std::string& name) {
      return std::all_of(config_.listeners.begin(), config_.listeners.end(),
                         [&name](const ListenerSettings& l) {
                           return l.pool != name || l.protocol == Protocol::Smtp;
                         });
    };
    for (const ListenerSettings& l : config_.listeners) {
      routing::PoolSettings* p = pool(l.pool);
      if (!p || l.protocol == Protocol::Http) continue;
      auto it = affinity_at_.find(l.pool);
      const toml::node* at = it != affinity_at_.end() ? it->second : nullptr;
      if (is_mail(l.protocol)) {
        const std::string kind = protocol_name(l.protocol);
        if (!at && !http_route.contains(l.pool) && !smtp_only(l.pool))
          p->affinity = routing::Affinity::User;
        if (at && p->affinity != routing::Affinity::None && p->affinity != routing::Affinity::User)
          errors_.add(at->source(), "\"affinity\" of a pool used by an " + kind +
                                        " listener must be \"none\" or \"user\": pool " +
                                        quoted(l.pool) + " is used by the " + kind + " listener " +
                                        quoted(l.name));
      } else if (at && p->affinity != routing::Affinity::None) {
        errors_.add(at->source(),
                    "\"affinity\" applies only to pools of HTTP routes and mail listeners: "
                    "pool " +
                        quoted(l.pool) + " is used by the tcp listener " + quoted(l.name));
      }
    }
    for (const auto& [name, route] : http_route) {
      auto it = affinity_at_.find(name);
      routing::PoolSettings* p = pool(name);
      if (p && it != affinity_at_.end() && p->affinity == routing::Affinity::User)
        errors_.add(it->second->source(),
                    "affinity = \"user\" applies only to pools of imap listeners: pool " +
                        quoted(name) + " is used by an HTTP route");
    }
  }

  // Where each pool that says its affinity set it.
  std::map<std::string, const toml::node*, std::less<>> affinity_at_;

  // XCLIENT is SMTP's: a pool with xclient = true serves smtp listeners only.
  void check_pool_xclient() {
    for (const auto& [name, at] : xclient_at_) {
      for (const ListenerSettings& l : config_.listeners) {
        if (l.pool != name || l.protocol == Protocol::Smtp) continue;
        errors_.add(at->source(),
                    "\"xclient\" (Postfix's XCLIENT command) applies only to pools "
                    "of smtp listeners: pool " +
                        quoted(name) + " is used by the " + protocol_name(l.protocol) +
                        " listener " + quoted(l.name));
      }
      for (const auto& r : config_.routes) {
        if (r.pool != name) continue;
        errors_.add(at->source(),
                    "\"xclient\" (Postfix's XCLIENT command) applies only to pools "
                    "of smtp listeners: pool " +
                        quoted(name) + " is used by an HTTP route");
        break;
      }
    }
  }
  // Where each pool with xclient = true set it.
  std::map<std::string, const toml::node*, std::less<>> xclient_at_;
  // node_tls speaks a mail protocol's STARTTLS: only pools that mail listeners alone use.
  void check_pool_node_tls() {
    for (const auto& entry : node_tls_at_) {
      // Named references: clang 14 does not let a lambda capture a structured binding.
      const std::string& name = entry.first;
      const toml::node* at = entry.second;
      auto p = std::find_if(config_.pools.begin(), config_.pools.end(),
                            [&](const routing::PoolSettings& ps) { return ps.name == name; });
      if (p == config_.pools.end() || p->node_tls == routing::NodeTls::None) continue;
      for (const ListenerSettings& l : config_.listeners)
        if (l.pool == name && !is_mail(l.protocol))
          errors_.add(at->source(),
                      "\"node_tls\" applies only to pools of imap, pop3 and smtp listeners: pool " +
                          quoted(name) + " is used by the " + protocol_name(l.protocol) +
                          " listener " + quoted(l.name));
      for (const auto& r : config_.routes)
        if (r.pool == name)
          errors_.add(at->source(),
                      "\"node_tls\" applies only to pools of imap, pop3 and smtp listeners: pool " +
                          quoted(name) + " is used by an HTTP route");
    }
  }

  // Where each pool that says node_tls set it.
  std::map<std::string, const toml::node*, std::less<>> node_tls_at_;
};

LoadResult cannot_read(const std::string& path, std::string reason) {
  LoadResult result;
  result.errors.push_back({path, 0, 0, "cannot read: " + std::move(reason)});
  return result;
}

}  // namespace

std::string Error::str() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult load_string(std::string_view text, const std::string& file_label) {
  LoadResult result;
  Errors errors(file_label);
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(file_label));
  } catch (const toml::parse_error& e) {
    errors.add(e.source(), std::string(e.description()));
    result.errors = errors.take();
    return result;
  }
  Config config = Loader(root, errors).load(file_label);
  if (errors.empty()) {
    result.config = std::move(config);
  } else {
    result.errors = errors.take();
  }
  return result;
}

LoadResult load_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cannot_read(path, std::strerror(errno));
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return cannot_read(path, std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFileSize) {
      ::close(fd);
      return cannot_read(path, "larger than 16MiB");
    }
  }
  ::close(fd);
  return load_string(text, path);
}

}  // namespace proxy::config
