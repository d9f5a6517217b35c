#include "proxy/admin/api.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <exception>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "proxy/admin/json_text.h"
#include "proxy/admin/shield_api.h"
#include "proxy/admin/status_page.h"
#include "proxy/admin/token.h"
#include "proxy/admin/user_where.h"
#include "proxy/admin/web_request.h"
#include "proxy/http/header_rewrite.h"
#include "routing/node_state.h"

namespace proxy::admin {
namespace {

namespace json = boost::json;
using routing::Admin;
using routing::Clock;

constexpr size_t kMailUserNames = 20;  // users named per node; the counts cover them all

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

Response json_response(unsigned status, const json::value& v) {
  Response r;
  r.status = status;
  r.body = to_json_text(v) + "\n";
  return r;
}

Response method_not_allowed(std::string_view method, std::string_view allow) {
  Response r = error_response(
      405, "method " + std::string(method) + " is not allowed here (" + std::string(allow) + ")");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

// Seconds from `since` to `now`, rounded to the millisecond; null when never.
json::value seconds_ago(const std::optional<Clock::time_point>& since, Clock::time_point now) {
  if (!since) return nullptr;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - *since).count();
  if (ms < 0) ms = 0;
  return static_cast<double>(ms) / 1000.0;
}

std::string_view balance_name(routing::Balance b) {
  switch (b) {
    case routing::Balance::LeastLoaded:
      return "least_loaded";
    case routing::Balance::RoundRobin:
      return "round_robin";
  }
  return "?";
}

routing::Node* find_node(const routing::Pool& pool, std::string_view name) {
  for (routing::Node* n : pool.nodes())
    if (n->name() == name) return n;
  return nullptr;
}

// The path split into percent-decoded segments; a single trailing slash is ignored.
std::optional<std::vector<std::string>> segments(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty() || path.front() != '/') return std::nullopt;
  path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  while (!path.empty()) {
    size_t slash = path.find('/');
    auto seg = percent_decode(path.substr(0, slash));
    if (!seg) return std::nullopt;
    out.push_back(std::move(*seg));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) out.emplace_back();  // "a//" keeps its empty segment: no match
  }
  return out;
}

std::string_view reason(unsigned status) {
  switch (status) {
    case 401:
      return "Unauthorized";
    case 411:
      return "Length Required";
    case 422:
      return "Unprocessable Content";
    case 303:
      return "See Other";
    default:
      return http::reason_phrase(status);
  }
}

bool is_get(std::string_view m) {
  return m == "GET" || m == "HEAD";
}

class Api {
 public:
  Api(const Request& req, const Context& ctx) : req_(req), ctx_(ctx) {}

  Response run() {
    std::string_view path = req_.target.substr(0, req_.target.find('?'));
    if (path == "/healthz") {
      if (!is_get(req_.method)) return method_not_allowed(req_.method, "GET, HEAD");
      Response r;
      r.content_type = "text/plain";
      r.body = "ok\n";
      return r;
    }
    if (is_status_path(path)) return handle_status(req_, ctx_);
    if (!ctx_.token.empty()) {
      std::string_view presented = bearer_token(req_.authorization);
      if (!token_equal(presented, ctx_.token)) {
        log(std::string("admin API: refused a request from ") + std::string(req_.peer) + ": " +
            (req_.authorization.empty() ? "no token" : "wrong token"));
        Response r = error_response(
            401, req_.authorization.empty() ? "a bearer token is required" : "wrong bearer token");
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"passeur\"");
        return r;
      }
    }
    if (req_.method == "POST") {
      if (auto why = cross_site_reason(req_.origin, req_.sec_fetch_site, req_.host); !why.empty()) {
        log("admin API: refused a POST " + std::string(path) + " from " + std::string(req_.peer) +
            ": cross-site request (" + why + ")");
        return error_response(403, "cross-site request refused (" + why + ")");
      }
    }
    if (path == "/metrics" && ctx_.metrics) {
      if (!is_get(req_.method)) return method_not_allowed(req_.method, "GET, HEAD");
      Response r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = ctx_.metrics();
      return r;
    }
    auto segs = segments(path);
    if (!segs) return error_response(400, "malformed percent-encoding in the path");
    const auto& s = *segs;
    for (const auto& seg : s)
      if (seg.empty()) return not_found(path);
    if (s.size() >= 3 && s[0] == "api" && s[1] == "v1") {
      if (s[2] == "pools") return pools(s);
      if (s[2] == "users" && s.size() == 4) return user_where(s[3]);
      if (s[2] == "shield") return shield_request(req_, ctx_, s);
      if (s[2] == "reload" && s.size() == 3) {
        if (req_.method != "POST") return method_not_allowed(req_.method, "POST");
        return reload();
      }
    }
    return not_found(path);
  }

 private:
  Response not_found(std::string_view path) {
    return error_response(404, "no such path " + quoted(path));
  }

  Response pools(const std::vector<std::string>& s) {
    const Snapshot* snap = ctx_.snapshot.get();
    if (s.size() == 3) {
      if (!is_get(req_.method)) return method_not_allowed(req_.method, "GET, HEAD");
      if (!snap) return error_response(503, "no configuration loaded");
      json::array list;
      for (const auto& p : snap->pools()) list.push_back(pool_json(*p, ctx_.now, ctx_.users));
      return json_response(200, json::object{{"pools", std::move(list)}});
    }
    const bool node_path = s.size() >= 6 && s[4] == "nodes";
    if (s.size() != 4 && !((s.size() == 6 || s.size() == 7) && node_path))
      return not_found(req_.target.substr(0, req_.target.find('?')));
    std::optional<Admin> action;
    if (s.size() == 7) {
      if (s[6] == "drain") {
        action = Admin::Draining;
      } else if (s[6] == "maintenance") {
        action = Admin::Maintenance;
      } else if (s[6] == "ready") {
        action = Admin::Active;
      } else {
        return error_response(
            404, "no action " + quoted(s[6]) + " (expected drain, ready or maintenance)");
      }
      if (req_.method != "POST") return method_not_allowed(req_.method, "POST");
    } else if (!is_get(req_.method)) {
      return method_not_allowed(req_.method, "GET, HEAD");
    }
    if (!snap) return error_response(503, "no configuration loaded");
    const routing::Pool* pool = snap->find_pool(s[3]);
    if (!pool) return error_response(404, "no pool " + quoted(s[3]));
    const routing::UserAffinity* users =
        pool->settings().affinity == routing::Affinity::User ? ctx_.users : nullptr;
    if (s.size() == 4) return json_response(200, pool_json(*pool, ctx_.now, users));
    routing::Node* node = find_node(*pool, s[5]);
    if (!node) return error_response(404, "no node " + quoted(s[5]) + " in pool " + quoted(s[3]));
    if (!action) return json_response(200, node_json(*node, ctx_.now, users));

    std::string cause = "admin API";
    if (!req_.peer.empty()) cause += " from " + std::string(req_.peer);
    auto change = routing::set_admin(*node, *action, cause, ctx_.now);
    if (change) log(routing::describe(*change, pool->name()));
    return json_response(200, json::object{{"pool", pool->name()},
                                           {"changed", change.has_value()},
                                           {"node", node_json(*node, ctx_.now, users)}});
  }

  // Which node of each pool with user affinity (or of ?pool=NAME) the user is on or would get.
  Response user_where(const std::string& user) {
    if (!is_get(req_.method)) return method_not_allowed(req_.method, "GET, HEAD");
    if (!ctx_.snapshot || !ctx_.users) return error_response(503, "no configuration loaded");
    std::optional<std::string> pool;
    if (size_t q = req_.target.find('?'); q != std::string_view::npos)
      pool = form_field(req_.target.substr(q + 1), "pool");
    std::string error;
    auto o = user_where_json(*ctx_.snapshot, *ctx_.users, user, pool, error);
    if (!o) return error_response(404, error);
    return json_response(200, std::move(*o));
  }

  Response reload() {
    if (!ctx_.reload) return error_response(503, "reload is not available");
    std::string message;
    bool ok = false;
    try {
      ok = ctx_.reload(message);
    } catch (const std::exception& e) {
      message = e.what();
    }
    log("admin API: reload asked by " + std::string(req_.peer.empty() ? "?" : req_.peer) + ": " +
        (ok ? "done" : "rejected"));
    if (ok) {
      return json_response(200, json::object{{"ok", true}, {"message", message}});
    }
    json::array errors;
    std::string_view rest = message;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      if (!line.empty()) errors.emplace_back(line);
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
    return json_response(422,
                         json::object{{"ok", false},
                                      {"error", "reload rejected; the running configuration stays"},
                                      {"errors", std::move(errors)}});
  }

  void log(std::string_view line) const {
    if (ctx_.log) ctx_.log(line);
  }

  const Request& req_;
  const Context& ctx_;
};

}  // namespace

Response handle(const Request& request, const Context& context) {
  return Api(request, context).run();
}

namespace {

// The last active check: its result, what the probe saw, and when (UTC, and seconds ago).
// null when the node was never checked (no check configured, or not yet).
json::value last_check_json(const routing::CheckStats& checks) {
  const int64_t at_ms = checks.last_unix_ms.load(std::memory_order_acquire);
  if (at_ms == 0) return nullptr;
  static constexpr const char* kOutcomes[] = {"ok", "failed", "timeout"};
  auto detail = checks.last_detail.load();
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const time_t at_s = static_cast<time_t>(at_ms / 1000);
  std::tm tm{};
  gmtime_r(&at_s, &tm);
  char at[32];
  std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return json::object{
      {"result", kOutcomes[static_cast<size_t>(checks.last_outcome.load())]},
      {"detail", detail ? *detail : std::string()},
      {"at", at},
      {"seconds_ago", std::round(static_cast<double>(now_ms - at_ms) / 100.0) / 10.0}};
}

}  // namespace

json::object node_json(const routing::Node& node, Clock::time_point now,
                       const routing::UserAffinity* users) {
  const routing::NodeStateView v = routing::read_state(node);
  json::object o;
  o["name"] = node.name();
  o["address"] = node.settings().address;
  o["health"] = routing::to_string(v.health);
  o["admin"] = routing::to_string(v.admin);
  o["usable"] = v.usable;
  o["weight"] = v.weight;
  // weight x slow-start ramp: lower than the weight while the node ramps up after coming back.
  const double effective = static_cast<double>(v.effective_weight) / routing::Node::kFullRamp;
  o["effective_weight"] = std::round(effective * 1000.0) / 1000.0;
  o["in_flight"] = v.in_flight;
  o["passive_failures"] = v.passive_streak;
  // Requests an affinity cookie sent here (affinity = "cookie"): the browsers a draining node
  // still serves.
  const routing::AffinityCount& affine = node.affine();
  o["affinity_requests_last_minute"] = affine.last_minute(now);
  o["affinity_last_seconds_ago"] = seconds_ago(affine.last(), now);
  if (users) {
    const auto open = users->on_identity(routing::user_node_identity(node), kMailUserNames);
    o["mail_users"] = open.users;
    o["mail_sessions"] = open.sessions;
    json::array names;
    for (const std::string& n : open.names) names.emplace_back(n);
    o["mail_user_names"] = std::move(names);
  }
  o["health_changed_seconds_ago"] = seconds_ago(v.health_since, now);
  o["admin_changed_seconds_ago"] = seconds_ago(v.admin_since, now);
  std::optional<Clock::time_point> last = v.health_since;
  if (v.admin_since && (!last || *v.admin_since > *last)) last = v.admin_since;
  if (last) {
    o["last_change"] =
        json::object{{"seconds_ago", seconds_ago(last, now)}, {"cause", v.last_cause}};
  } else {
    o["last_change"] = nullptr;
  }
  o["changes"] =
      json::object{{"health", v.health_changes}, {"admin", v.admin_changes}, {"downs", v.downs}};
  o["last_check"] = last_check_json(node.checks());
  return o;
}

json::object pool_json(const routing::Pool& pool, Clock::time_point now,
                       const routing::UserAffinity* users) {
  if (pool.settings().affinity != routing::Affinity::User) users = nullptr;
  json::array nodes;
  uint64_t usable = 0;
  for (const routing::Node* n : pool.nodes()) {
    nodes.push_back(node_json(*n, now, users));
    if (n->usable()) ++usable;
  }
  return json::object{{"name", pool.name()},
                      {"balance", balance_name(pool.settings().balance)},
                      {"usable_nodes", usable},
                      {"nodes", std::move(nodes)}};
}

Response error_response(unsigned status, std::string_view message) {
  Response r = json_response(status, json::object{{"error", message}});
  r.close = true;
  return r;
}

std::string serialize(const Response& r, bool head_only, bool close) {
  std::string out;
  out.reserve(r.body.size() + 256);
  out += "HTTP/1.1 " + std::to_string(r.status) + " ";
  out += reason(r.status);
  out += "\r\nContent-Type: " + r.content_type;
  if (r.content_type == "application/json" || r.content_type == "text/plain")
    out += "; charset=utf-8";
  out += "\r\nCache-Control: no-store\r\n";
  for (const auto& [name, value] : r.headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_only) out += r.body;
  return out;
}

std::optional<std::string> percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace proxy::admin
