#include "proxy/admin/ctl.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "proxy/admin/user_where.h"
#include "proxy/config/address.h"
#include "proxy/config/config_loader.h"
#include "proxy/config/token_file.h"
#include "proxy/http/message_head.h"

namespace proxy::admin {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::ip::tcp;
using boost::system::error_code;

constexpr const char* kDefaultAdmin = "127.0.0.1:9900";
constexpr auto kTimeout = std::chrono::seconds(30);  // a reload may load many certificates
constexpr size_t kMaxAnswer = 64u << 20;

constexpr const char* kUsage =
    "usage: passeur ctl [-c CONFIG] [--admin ADDR] [--token-file FILE] [--json] COMMAND\n"
    "commands:\n"
    "  pools [POOL]             the nodes of every pool (or one) and their state\n"
    "  drain POOL NODE          no new requests for the node; in-flight ones finish\n"
    "  maintenance POOL NODE    as drain, and its health checks stop\n"
    "  ready POOL NODE          back to active\n"
    "  reload                   re-read the config file, as SIGHUP does\n"
    "  where USER [--pool POOL] the node of each mail pool with user affinity the user is on\n"
    "                           or would get, and why\n"
    "  shield [N]               the login shield's N (100) entries with the most failures\n"
    "  shield clear all         forget every login shield entry\n"
    "  shield clear ADDRESS|USER            forget one client address's (or user's) entry\n"
    "  shield clear DIMENSION KEY           address, network, user or country, and its key\n"
    "options:\n"
    "  -c, --config FILE        take admin_listen and admin_token_file from this config\n"
    "  --admin ADDR             the admin API's address (default: the config's, else "
    "127.0.0.1:9900)\n"
    "  --token-file FILE        the bearer token (default: the config's admin_token_file)\n"
    "  --json                   print the API's JSON as it came\n";

struct Answer {
  unsigned status = 0;
  std::string body;
};

// One request on a fresh connection, bounded in time. nullopt and `error` on failure.
std::optional<Answer> exchange(const tcp::endpoint& ep, const std::string& request,
                               std::string& error) {
  asio::io_context io;
  tcp::socket sock(io);
  std::string in;
  error_code failure;
  bool done = false;
  auto run = [&]() -> asio::awaitable<void> {
    constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
    auto [cec] = co_await sock.async_connect(ep, tuple);
    if (cec) {
      failure = cec;
      co_return;
    }
    auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(request), tuple);
    if (wec) {
      failure = wec;
      co_return;
    }
    char buf[16384];
    for (;;) {
      auto [rec, n] = co_await sock.async_read_some(asio::buffer(buf), tuple);
      in.append(buf, n);
      if (rec == asio::error::eof) break;
      if (rec) {
        failure = rec;
        co_return;
      }
      if (in.size() > kMaxAnswer) {
        failure = asio::error::message_size;
        co_return;
      }
    }
    done = true;
  };
  asio::co_spawn(io, run(), asio::detached);
  io.run_for(kTimeout);
  if (!done) {
    error = failure ? failure.message() : "no answer within 30 s";
    return std::nullopt;
  }
  http::ResponseHead head;
  if (http::parse_response_head(in, 64 * 1024, head) != http::HeadStatus::Complete) {
    error = "not an HTTP answer (is this the admin address?)";
    return std::nullopt;
  }
  Answer a;
  a.status = head.status;
  a.body = in.substr(head.size);
  if (head.content_length && *head.content_length < a.body.size())
    a.body.resize(static_cast<size_t>(*head.content_length));
  return a;
}

// A path segment: unreserved characters and ':' as they are, the rest percent-encoded.
std::string encode_segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == ':') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string string_of(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v && v->is_string()) return std::string(v->get_string());
  return {};
}

std::string number_of(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v) return "-";
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  if (v->is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v->get_double());
    return buf;
  }
  return "-";
}

std::optional<double> double_of(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

// The server's error message from a JSON error body, else the body itself.
std::string server_message(const Answer& a) {
  error_code ec;
  json::value v = json::parse(a.body, ec);
  if (!ec && v.is_object()) {
    std::string msg = string_of(v.get_object(), "error");
    if (auto* errors = v.get_object().if_contains("errors"); errors && errors->is_array()) {
      for (const auto& e : errors->get_array())
        if (e.is_string()) msg += "\n  " + std::string(e.get_string());
    }
    if (!msg.empty()) return msg;
  }
  std::string body = a.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return body.empty() ? "(no message)" : body;
}

struct Options {
  std::string config;
  std::string admin;
  std::string token_file;
  std::string pool;  // where --pool
  bool json = false;
  std::vector<std::string> words;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "passeur ctl: %s\n%s", message.c_str(), kUsage);
  return 2;
}

// Rows as columns separated by two spaces, each as wide as its widest cell.
std::string table_text(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line.append(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string format_age(double seconds) {
  auto s = static_cast<long long>(seconds < 0 ? 0 : std::floor(seconds));
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s % 3600 / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
  }
  return buf;
}

std::string format_pools_table(std::string_view text, std::string& error) {
  error_code ec;
  json::value root = json::parse(text, ec);
  if (ec || !root.is_object()) {
    error = "the answer is not JSON";
    return {};
  }
  std::vector<const json::object*> pools;
  if (auto* list = root.get_object().if_contains("pools"); list && list->is_array()) {
    for (const auto& p : list->get_array())
      if (p.is_object()) pools.push_back(&p.get_object());
  } else if (root.get_object().contains("nodes")) {
    pools.push_back(&root.get_object());
  } else {
    error = "the answer holds no pools";
    return {};
  }

  std::vector<std::vector<std::string>> rows;
  rows.push_back({"POOL", "NODE", "ADDRESS", "HEALTH", "ADMIN", "WEIGHT", "IN_FLIGHT", "USABLE",
                  "LAST CHECK", "LAST CHANGE"});
  for (const json::object* p : pools) {
    const std::string pool = string_of(*p, "name");
    auto* nodes = p->if_contains("nodes");
    if (!nodes || !nodes->is_array()) continue;
    for (const auto& nv : nodes->get_array()) {
      if (!nv.is_object()) continue;
      const auto& n = nv.get_object();
      std::string weight = number_of(n, "weight");
      std::string effective = number_of(n, "effective_weight");
      if (effective != "-" && effective != weight) weight += " (" + effective + ")";
      std::string usable = "-";
      if (auto* u = n.if_contains("usable"); u && u->is_bool())
        usable = u->get_bool() ? "yes" : "no";
      std::string last = "-";
      if (auto* lc = n.if_contains("last_change"); lc && lc->is_object()) {
        auto ago = double_of(lc->get_object().if_contains("seconds_ago"));
        last = (ago ? format_age(*ago) + " ago" : std::string("?"));
        std::string cause = string_of(lc->get_object(), "cause");
        if (!cause.empty()) last += ": " + cause;
      }
      std::string check = "-";
      if (auto* lc = n.if_contains("last_check"); lc && lc->is_object()) {
        auto ago = double_of(lc->get_object().if_contains("seconds_ago"));
        check = string_of(lc->get_object(), "result") + " " +
                (ago ? format_age(*ago) + " ago" : std::string("?"));
      }
      rows.push_back({pool, string_of(n, "name"), string_of(n, "address"), string_of(n, "health"),
                      string_of(n, "admin"), weight, number_of(n, "in_flight"), usable, check,
                      last});
    }
  }
  return table_text(rows);
}

std::string shield_clear_path(const std::vector<std::string>& words, std::string& error) {
  if (words.size() == 1 && words[0] == "all") return "/api/v1/shield/clear";
  if (words.size() == 1) {
    // An address clears that client address's entry; anything else is a user name.
    error_code ec;
    asio::ip::make_address(words[0], ec);
    return "/api/v1/shield/" + std::string(ec ? "user" : "address") + "/" +
           encode_segment(words[0]) + "/clear";
  }
  if (words.size() == 2) {
    const auto& d = words[0];
    if (d != "address" && d != "network" && d != "user" && d != "country") {
      error = "shield clear: unknown dimension \"" + d +
              "\" (expected address, network, user or country)";
      return {};
    }
    return "/api/v1/shield/" + d + "/" + encode_segment(words[1]) + "/clear";
  }
  error = "shield clear takes \"all\", an address, a user name, or a dimension and a key";
  return {};
}

std::string format_shield_table(std::string_view text, std::string& error) {
  error_code ec;
  json::value root = json::parse(text, ec);
  const json::value* list = nullptr;
  if (!ec && root.is_object()) list = root.get_object().if_contains("list");
  if (!list || !list->is_array()) {
    error = "the answer holds no login shield entries";
    return {};
  }
  const auto& o = root.get_object();
  bool enabled = false;
  if (auto* e = o.if_contains("enabled"); e && e->is_bool()) enabled = e->get_bool();
  std::string out = "login shield " + std::string(enabled ? "enabled" : "disabled") + ": " +
                    number_of(o, "entries") + " entries of " + number_of(o, "table_size") + ", " +
                    number_of(o, "evictions") + " evicted\n";
  if (list->get_array().empty()) return out + "no key has failed logins\n";
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"DIMENSION", "KEY", "FAILURES", "STATE", "DETAIL"});
  for (const auto& ev : list->get_array()) {
    if (!ev.is_object()) continue;
    const auto& e = ev.get_object();
    const std::string state = string_of(e, "state");
    std::string detail = "-";
    if (state == "refused") {
      auto left = double_of(e.if_contains("seconds_left"));
      detail = "until " + string_of(e, "until") +
               (left ? " (" + format_age(std::ceil(*left)) + " left)" : std::string());
    } else if (state == "delayed") {
      detail = "answers delayed " + number_of(e, "delay_seconds") + "s";
    }
    rows.push_back(
        {string_of(e, "dimension"), string_of(e, "key"), number_of(e, "failures"), state, detail});
  }
  return out + table_text(rows);
}

int run_ctl(int argc, char** argv) {
  Options o;
  int i = (argc > 1 && std::strcmp(argv[1], "ctl") == 0) ? 2 : 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      (void)name;
      return std::string(argv[++i]);
    };
    if (a == "-c" || a == "--config" || a == "--admin" || a == "--token-file" || a == "--pool") {
      auto v = value(a.c_str());
      if (!v) return usage_error(a + " needs a value");
      (a == "--admin"        ? o.admin
       : a == "--token-file" ? o.token_file
       : a == "--pool"       ? o.pool
                             : o.config) = *v;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "-h" || a == "--help" || a == "help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error("unknown option \"" + a + "\"");
    } else {
      o.words.push_back(a);
    }
  }
  if (o.words.empty()) return usage_error("a command is required");

  // The address and token.
  std::string admin = o.admin;
  std::string token;
  if (!o.config.empty()) {
    auto r = config::load_file(o.config);
    if (!r.ok()) {
      for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
      std::fprintf(stderr, "passeur ctl: cannot use the config %s\n", o.config.c_str());
      return 1;
    }
    if (admin.empty()) admin = r.config->server.admin_listen;
    token = r.config->server.admin_token;
  }
  if (admin.empty()) admin = kDefaultAdmin;
  auto ep = config::parse_endpoint(admin);
  if (!ep) return usage_error("bad admin address \"" + admin + "\" (expected ip:port)");
  if (ep->address().is_unspecified()) {  // listening on every address: ask on loopback
    ep->address(ep->address().is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                                      : asio::ip::address(asio::ip::address_v4::loopback()));
  }
  if (!o.token_file.empty()) {
    std::string error;
    auto t = config::read_token_file(o.token_file, error);
    if (!t) {
      std::fprintf(stderr, "passeur ctl: token file %s: %s\n", o.token_file.c_str(), error.c_str());
      return 1;
    }
    token = *t;
  }

  // The request.
  const std::string& cmd = o.words[0];
  std::string method = "GET", path, error_text;
  const size_t nargs = o.words.size() - 1;
  if (cmd == "pools") {
    if (nargs > 1) return usage_error("pools takes at most one pool name");
    path = "/api/v1/pools";
    if (nargs == 1) path += "/" + encode_segment(o.words[1]);
  } else if (cmd == "drain" || cmd == "ready" || cmd == "maintenance") {
    if (nargs != 2) return usage_error(cmd + " takes a pool name and a node name");
    method = "POST";
    path = "/api/v1/pools/" + encode_segment(o.words[1]) + "/nodes/" + encode_segment(o.words[2]) +
           "/" + cmd;
  } else if (cmd == "where") {
    if (nargs != 1) return usage_error("where takes a user name");
    path = "/api/v1/users/" + encode_segment(o.words[1]);
    if (!o.pool.empty()) path += "?pool=" + encode_segment(o.pool);
  } else if (cmd == "reload") {
    if (nargs != 0) return usage_error("reload takes no argument");
    method = "POST";
    path = "/api/v1/reload";
  } else if (cmd == "shield" && nargs >= 1 && o.words[1] == "clear") {
    path = shield_clear_path({o.words.begin() + 2, o.words.end()}, error_text);
    if (path.empty()) return usage_error(error_text);
    method = "POST";
  } else if (cmd == "shield") {
    if (nargs > 1) return usage_error("shield takes at most a number of entries (or clear ...)");
    path = "/api/v1/shield";
    if (nargs == 1) {
      const std::string& n = o.words[1];
      if (n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos ||
          n == std::string(n.size(), '0'))
        return usage_error("shield N: N must be a number of entries from 1 to 100000");
      path += "?limit=" + n;
    }
  } else {
    return usage_error("unknown command \"" + cmd + "\"");
  }
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: " + admin +
                        "\r\nUser-Agent: passeur-ctl\r\nAccept: application/json\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (method == "POST") request += "Content-Length: 0\r\n";
  request += "Connection: close\r\n\r\n";

  std::string error;
  auto answer = exchange(*ep, request, error);
  if (!answer) {
    std::fprintf(stderr, "passeur ctl: admin API at %s: %s\n", admin.c_str(), error.c_str());
    return 1;
  }
  if (answer->status == 422 && cmd == "reload") {
    std::fprintf(stderr, "passeur ctl: %s\n", server_message(*answer).c_str());
    return 1;
  }
  if (answer->status < 200 || answer->status > 299) {
    std::fprintf(stderr, "passeur ctl: HTTP %u: %s\n", answer->status,
                 server_message(*answer).c_str());
    return 1;
  }
  if (o.json) {
    std::fputs(answer->body.c_str(), stdout);
    if (!answer->body.empty() && answer->body.back() != '\n') std::fputc('\n', stdout);
    return 0;
  }

  error_code ec;
  json::value v = json::parse(answer->body, ec);
  if (cmd == "where") {
    std::string text = format_user_where(answer->body, error);
    if (text.empty()) {
      std::fprintf(stderr, "passeur ctl: %s\n", error.c_str());
      return 1;
    }
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  if (cmd == "pools") {
    std::string table = format_pools_table(answer->body, error);
    if (table.empty()) {
      std::fprintf(stderr, "passeur ctl: %s\n", error.c_str());
      return 1;
    }
    std::fputs(table.c_str(), stdout);
    return 0;
  }
  if (ec || !v.is_object()) {
    std::fprintf(stderr, "passeur ctl: the answer is not JSON\n");
    return 1;
  }
  const auto& obj = v.get_object();
  if (cmd == "shield") {
    if (method == "GET") {
      std::string table = format_shield_table(answer->body, error);
      if (table.empty()) {
        std::fprintf(stderr, "passeur ctl: %s\n", error.c_str());
        return 1;
      }
      std::fputs(table.c_str(), stdout);
    } else if (obj.contains("key")) {
      std::printf("login shield: cleared %s %s\n", string_of(obj, "dimension").c_str(),
                  string_of(obj, "key").c_str());
    } else {
      std::printf("login shield: cleared %s entries\n", number_of(obj, "cleared").c_str());
    }
    return 0;
  }
  if (cmd == "reload") {
    std::printf("%s\n", string_of(obj, "message").c_str());
    return 0;
  }
  const json::value* nv = obj.if_contains("node");
  if (!nv || !nv->is_object()) {
    std::fprintf(stderr, "passeur ctl: the answer holds no node\n");
    return 1;
  }
  const auto& n = nv->get_object();
  bool changed = false;
  if (auto* c = obj.if_contains("changed"); c && c->is_bool()) changed = c->get_bool();
  std::string line = "pool \"" + string_of(obj, "pool") + "\" node \"" + string_of(n, "name") +
                     "\": " + (changed ? "now " : "already ") + string_of(n, "admin");
  line += ", health " + string_of(n, "health");
  auto in_flight = number_of(n, "in_flight");
  if (in_flight != "0" && in_flight != "-")
    line += ", " + in_flight + " in flight" + (cmd == "ready" ? "" : " (finishing)");
  auto affine = number_of(n, "affinity_requests_last_minute");
  if (affine != "0" && affine != "-") {
    line += ", " + affine + " request" + (affine == "1" ? "" : "s") +
            " by affinity cookie in the last minute";
    if (auto ago = double_of(n.if_contains("affinity_last_seconds_ago")))
      line += " (last " + format_age(*ago) + " ago)";
  }
  auto mail_users = number_of(n, "mail_users");
  if (mail_users != "0" && mail_users != "-") {
    const auto sessions = number_of(n, "mail_sessions");
    line += ", " + mail_users + " mail user" + (mail_users == "1" ? "" : "s") + " with " +
            sessions + " open session" + (sessions == "1" ? "" : "s");
    std::string names;
    size_t named = 0;
    if (const json::value* v = n.if_contains("mail_user_names"); v && v->is_array()) {
      for (const json::value& u : v->get_array()) {
        if (!u.is_string()) continue;
        names += (named++ ? ", " : "") + std::string(u.get_string());
      }
    }
    if (named) line += " (" + names + (std::to_string(named) == mail_users ? ")" : ", ...)");
  }
  std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace proxy::admin
