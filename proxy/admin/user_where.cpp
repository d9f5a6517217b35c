#include "proxy/admin/user_where.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "routing/node_state.h"

namespace proxy::admin {
namespace json = boost::json;

namespace {

json::object pool_where(const routing::Pool& pool, const routing::UserAffinity& table,
                        std::string_view user) {
  const routing::PoolSettings& ps = pool.settings();
  const std::string key = routing::user_key(user, ps.user_key);
  const routing::UserAffinityExplanation e = table.where(key, pool.nodes(), ps.balance_factor);
  json::object o;
  o["pool"] = pool.name();
  o["user_key"] = e.user;
  o["node"] = e.node ? json::value(e.node->name()) : json::value(nullptr);
  o["address"] = e.node ? json::value(e.node->settings().address) : json::value(nullptr);
  o["reason"] = routing::to_string(e.reason);
  o["choice"] = e.choice;
  o["open_sessions"] = e.open_sessions;
  o["balance_factor"] = ps.balance_factor;
  o["average"] = e.average;
  o["bound"] = e.bound;
  json::array order;
  for (const routing::UserNodeView& v : e.order) {
    order.push_back(json::object{{"node", v.node ? v.node->name() : std::string()},
                                 {"address", v.node ? v.node->settings().address : std::string()},
                                 {"identity", v.identity},
                                 {"health", routing::to_string(v.health)},
                                 {"admin", routing::to_string(v.admin)},
                                 {"usable", v.usable},
                                 {"weight", v.weight},
                                 {"load", v.load},
                                 {"load_per_weight", v.load_per_weight},
                                 {"within_bound", v.within_bound},
                                 {"user_sessions", v.user_sessions}});
  }
  o["order"] = std::move(order);
  return o;
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v) return "-";
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_null()) return "-";
  if (v->is_bool()) return v->get_bool() ? "yes" : "no";
  if (v->is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v->get_double());
    return buf;
  }
  return json::serialize(*v);
}

}  // namespace

std::optional<json::object> user_where_json(const Snapshot& snapshot,
                                            const routing::UserAffinity& table,
                                            std::string_view user,
                                            std::optional<std::string_view> pool,
                                            std::string& error) {
  json::array pools;
  for (const auto& p : snapshot.pools()) {
    if (pool && p->name() != *pool) continue;
    if (p->settings().affinity != routing::Affinity::User) {
      if (pool) {
        error = "pool \"" + p->name() + "\" has no user affinity";
        return std::nullopt;
      }
      continue;
    }
    pools.push_back(pool_where(*p, table, user));
  }
  if (pool && pools.empty()) {
    error = "no pool \"" + std::string(*pool) + "\"";
    return std::nullopt;
  }
  return json::object{{"user", user}, {"pools", std::move(pools)}};
}

std::string format_user_where(std::string_view text, std::string& error) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  const json::array* pools = nullptr;
  if (!ec && root.is_object())
    if (auto* p = root.get_object().if_contains("pools"); p && p->is_array())
      pools = &p->get_array();
  if (!pools) {
    error = "the answer holds no pools";
    return {};
  }
  if (pools->empty()) return "no pool has user affinity\n";
  std::string out;
  for (const auto& pv : *pools) {
    if (!pv.is_object()) continue;
    const auto& p = pv.get_object();
    const std::string node = str(p, "node");
    const std::string reason = str(p, "reason");
    if (!out.empty()) out += "\n";
    if (node == "-") {
      out +=
          "pool \"" + str(p, "pool") + "\": user \"" + str(p, "user_key") + "\": no usable node\n";
    } else {
      const bool open = str(p, "open_sessions") != "0";
      out += "pool \"" + str(p, "pool") + "\": user \"" + str(p, "user_key") + "\" " +
             (open ? "is on" : "would get") + " node \"" + node + "\" (" + str(p, "address") +
             "): " + reason;
      if (open) out += ", " + str(p, "open_sessions") + " open session(s)";
      out += "\n";
    }
    out += "  average load per weight " + str(p, "average") + ", bound " + str(p, "bound") +
           " (balance_factor " + str(p, "balance_factor") + ")\n";
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"ORDER", "NODE", "ADDRESS", "HEALTH", "ADMIN", "USABLE", "WEIGHT", "LOAD",
                    "WITHIN_BOUND", "USER_SESSIONS"});
    size_t i = 0;
    if (auto* order = p.if_contains("order"); order && order->is_array()) {
      for (const auto& nv : order->get_array()) {
        if (!nv.is_object()) continue;
        const auto& n = nv.get_object();
        rows.push_back({std::to_string(++i), str(n, "node"), str(n, "address"), str(n, "health"),
                        str(n, "admin"), str(n, "usable"), str(n, "weight"), str(n, "load"),
                        str(n, "within_bound"), str(n, "user_sessions")});
      }
    }
    std::vector<size_t> width(rows.front().size(), 0);
    for (const auto& r : rows)
      for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
    for (const auto& r : rows) {
      std::string line = "  ";
      for (size_t c = 0; c < r.size(); ++c) {
        line += r[c];
        if (c + 1 < r.size()) line.append(width[c] - r[c].size() + 2, ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
  }
  return out;
}

}  // namespace proxy::admin
