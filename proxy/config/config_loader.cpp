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

#include <toml++/toml.h>

#include "proxy/config/address.h"
#include "proxy/config/units.h"

namespace proxy::config {
namespace {

using boost::asio::ip::tcp;
using Millis = std::chrono::milliseconds;

constexpr size_t kMaxFileSize = 16u << 20;

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

class Errors {
 public:
  explicit Errors(const std::string& file) : file_(file) {}

  void add(const toml::source_region& where, std::string message) {
    list_.push_back({file_, static_cast<int>(where.begin.line),
                     static_cast<int>(where.begin.column), std::move(message)});
  }
  bool empty() const { return list_.empty(); }

  std::vector<Error> take() {
    std::stable_sort(list_.begin(), list_.end(), [](const Error& a, const Error& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    return std::move(list_);
  }

 private:
  const std::string& file_;
  std::vector<Error> list_;
};

struct Address {
  std::string text;
  tcp::endpoint endpoint;
  const toml::node* node;
};

// One TOML table being read. Keys not in `allowed` are reported at once; the getters report
// wrong types and bad values at the value's position and return nullopt for them, so that a
// missing or wrong key leaves the setting at its default and reading goes on.
class Section {
 public:
  Section(Errors& errors, const toml::table& table, std::string where,
          std::initializer_list<std::string_view> allowed)
      : errors_(errors), table_(table), where_(std::move(where)) {
    for (auto&& [key, value] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
        errors_.add(key.source(), "unknown key " + quoted(key.str()) + " " + where_);
      }
    }
  }

  const toml::source_region& source() const { return table_.source(); }
  const std::string& where() const { return where_; }
  const toml::node* find(std::string_view key) const { return table_.get(key); }

  void error(std::string_view key, std::string message) const {
    if (auto* node = find(key)) errors_.add(node->source(), std::move(message));
  }

  bool require(std::string_view key) const {
    if (find(key)) return true;
    errors_.add(source(), "missing key " + quoted(key) + " " + where_);
    return false;
  }

  std::optional<std::string> string(std::string_view key) const {
    auto* node = find(key);
    if (!node) return std::nullopt;
    if (auto* v = node->as_string()) return v->get();
    errors_.add(node->source(), quoted(key) + " must be a string");
    return std::nullopt;
  }

  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max) const {
    auto* node = find(key);
    if (!node) return std::nullopt;
    auto* v = node->as_integer();
    if (!v) {
      errors_.add(node->source(), quoted(key) + " must be an integer");
    } else if (v->get() < min || v->get() > max) {
      errors_.add(node->source(), quoted(key) + " must be between " + std::to_string(min) +
                                      " and " + std::to_string(max));
    } else {
      return v->get();
    }
    return std::nullopt;
  }

  std::optional<bool> boolean(std::string_view key) const {
    auto* node = find(key);
    if (!node) return std::nullopt;
    if (auto* v = node->as_boolean()) return v->get();
    errors_.add(node->source(), quoted(key) + " must be true or false");
    return std::nullopt;
  }

  // A timeout: greater than 0 unless `allow_zero`.
  std::optional<Millis> duration(std::string_view key, bool allow_zero = false) const {
    auto* node = find(key);
    if (!node) return std::nullopt;
    auto* v = node->as_string();
    if (!v) {
      errors_.add(node->source(), quoted(key) + " must be a duration string such as \"30s\"");
      return std::nullopt;
    }
    auto d = parse_duration(v->get());
    if (!d) {
      errors_.add(node->source(), quoted(key) + ": bad duration " + quoted(v->get()) +
                                      " (a whole number with ms, s, m or h)");
    } else if (*d == Millis(0) && !allow_zero) {
      errors_.add(node->source(), quoted(key) + " must be greater than 0");
    } else {
      return d;
    }
    return std::nullopt;
  }

  // A string with units ("64MiB") or an integer number of bytes.
  std::optional<uint64_t> size(std::string_view key) const {
    auto* node = find(key);
    if (!node) return std::nullopt;
    if (auto* i = node->as_integer()) {
      if (i->get() >= 0) return static_cast<uint64_t>(i->get());
      errors_.add(node->source(), quoted(key) + " must not be negative");
      return std::nullopt;
    }
    auto* v = node->as_string();
    if (!v) {
      errors_.add(node->source(), quoted(key) + " must be a size such as \"64MiB\" or a number");
      return std::nullopt;
    }
    auto n = parse_size(v->get());
    if (!n) {
      errors_.add(node->source(), quoted(key) + ": bad size " + quoted(v->get()) +
                                      " (a whole number of bytes, KiB, MiB or GiB)");
    }
    return n;
  }

  std::optional<Address> address(std::string_view key) const {
    auto text = string(key);
    if (!text) return std::nullopt;
    auto* node = find(key);
    auto endpoint = parse_endpoint(*text);
    if (endpoint) return Address{*text, *endpoint, node};
    errors_.add(node->source(), quoted(key) + ": bad address " + quoted(*text) +
                                    " (expected \"ip:port\" or \"[ipv6]:port\")");
    return std::nullopt;
  }

  const toml::table* table(std::string_view key, std::string_view what) const {
    auto* node = find(key);
    if (!node || node->is_table()) return node ? node->as_table() : nullptr;
    errors_.add(node->source(), quoted(key) + " must be a table (" + std::string(what) + ")");
    return nullptr;
  }

  const toml::array* array(std::string_view key, std::string_view what) const {
    auto* node = find(key);
    if (!node || node->is_array()) return node ? node->as_array() : nullptr;
    errors_.add(node->source(), quoted(key) + " must be an array (" + std::string(what) + ")");
    return nullptr;
  }

 private:
  Errors& errors_;
  const toml::table& table_;
  std::string where_;
};

// Remembers the first place each name (or address) was used, to report the repeats.
template <typename Key>
class FirstSeen {
 public:
  // The line of the first use if `key` was seen before; records it otherwise.
  std::optional<int> repeat(const Key& key, const toml::source_region& where) {
    auto [it, inserted] = first_.emplace(key, static_cast<int>(where.begin.line));
    if (inserted) return std::nullopt;
    return it->second;
  }

 private:
  std::map<Key, int> first_;
};

std::string first_used(int line) {
  return " (first used at line " + std::to_string(line) + ")";
}

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
    Section top(errors_, root_, "at the top level", {"server", "listener", "route", "pool"});
    if (auto* server = top.table("server", "[server]")) read_server(*server);
    admin_ = parse_endpoint(config_.server.admin_listen);
    if (auto* pools = top.table("pool", "[pool.NAME]")) read_pools(*pools);
    for (auto* table : tables(top, "listener")) read_listener(*table);
    for (auto* table : tables(top, "route")) read_route(*table);
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
              {"workers", "admin_listen", "access_log", "grace_period"});
    auto& out = config_.server;
    if (auto v = s.integer("workers", 0, 256)) out.workers = static_cast<unsigned>(*v);
    if (auto v = s.address("admin_listen")) {
      out.admin_listen = v->text;
      admin_line_ = static_cast<int>(v->node->source().begin.line);
    }
    if (auto v = s.string("access_log")) {
      if (v->empty()) {
        s.error("access_log", "\"access_log\" must be \"stdout\", \"off\" or a file path");
      } else {
        out.access_log = *v;
      }
    }
    if (auto v = s.duration("grace_period", true)) out.grace_period = *v;
  }

  void read_listener(const toml::table& table) {
    Section s(errors_, table, "in [[listener]]",
              {"name", "listen", "protocol", "header_timeout", "keepalive_timeout",
               "client_timeout", "max_header", "forwarded", "via"});
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
      } else {
        s.error("protocol", "unknown protocol " + quoted(*v) + " (expected \"http\")");
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

  void read_route(const toml::table& table) {
    Section s(errors_, table, "in [[route]]",
              {"host", "path_prefix", "pool", "max_body", "connect_timeout", "response_timeout",
               "tunnel_timeout"});
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
      if (!v->starts_with("/")) {
        matchable = false;
        s.error("path_prefix", "\"path_prefix\" must start with \"/\"");
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

    auto key = std::pair(out.host.value_or(""), out.path_prefix);
    auto line = matchable ? routes_.repeat(key, s.source()) : std::nullopt;
    if (line) {
      auto host = out.host ? "host " + quoted(*out.host) : std::string("any host");
      errors_.add(s.source(), "route for " + host + " and path_prefix " + quoted(out.path_prefix) +
                                  " repeats the one at line " + std::to_string(*line));
    }
    config_.routes.push_back(std::move(out));
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
    Section s(errors_, table, "in " + header, {"balance", "nodes", "max_idle", "idle_timeout"});
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
    auto* nodes = s.require("nodes") ? s.array("nodes", "a list of nodes") : nullptr;
    if (nodes) {
      if (nodes->empty()) {
        errors_.add(nodes->source(), "pool " + quoted(out.name) + " has no nodes");
      }
      FirstSeen<std::string> names;
      FirstSeen<tcp::endpoint> addresses;
      for (auto& node : *nodes) {
        auto settings = read_node(node, header, names, addresses);
        if (settings) out.nodes.push_back(std::move(*settings));
      }
    }
    config_.pools.push_back(std::move(out));
  }

  std::optional<routing::NodeSettings> read_node(const toml::node& node, const std::string& pool,
                                                 FirstSeen<std::string>& names,
                                                 FirstSeen<tcp::endpoint>& addresses) {
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
      Section s(errors_, *table, "in a node of " + pool, {"address", "name", "weight"});
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
