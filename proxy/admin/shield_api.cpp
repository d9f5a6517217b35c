#include "proxy/admin/shield_api.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "proxy/admin/json_text.h"

namespace proxy::admin {
namespace {

namespace json = boost::json;
using routing::Clock;

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 100'000;

Response json_answer(const json::value& v) {
  Response r;
  r.body = to_json_text(v) + "\n";
  return r;
}

Response not_allowed(std::string_view method, std::string_view allow) {
  Response r = error_response(
      405, "method " + std::string(method) + " is not allowed here (" + std::string(allow) + ")");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

double seconds(Clock::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return static_cast<double>(ms) / 1000.0;
}

// A steady-clock instant as UTC text ("2026-12-07T05:20:00Z").
std::string utc(Clock::time_point at, Clock::time_point now) {
  auto wall = std::chrono::system_clock::now() +
              std::chrono::duration_cast<std::chrono::system_clock::duration>(at - now);
  const time_t t = std::chrono::system_clock::to_time_t(wall);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// ?limit=N; nullopt when it is there but not a number in range.
std::optional<size_t> limit_of(std::string_view target) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return kDefaultLimit;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (pair.starts_with("limit=")) {
      std::string_view v = pair.substr(6);
      size_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n == 0 || n > kMaxLimit)
        return std::nullopt;
      return n;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return kDefaultLimit;
}

}  // namespace

json::object shield_json(const routing::LoginShield& shield, size_t limit, Clock::time_point now) {
  const auto settings = shield.settings();
  const auto stats = shield.stats();
  json::array list;
  for (const auto& e : shield.top(limit)) {
    json::object o{{"dimension", routing::shield_dimension_name(e.dimension)},
                   {"key", e.key},
                   {"failures", e.failures},
                   {"state", routing::shield_state_name(e.state)}};
    if (e.state == routing::ShieldEntryView::State::Delayed) o["delay_seconds"] = seconds(e.delay);
    if (e.state == routing::ShieldEntryView::State::Refused) {
      o["until"] = utc(e.until, now);
      o["seconds_left"] = seconds(e.until - now);
    }
    list.push_back(std::move(o));
  }
  return json::object{{"enabled", settings.enabled},
                      {"window_seconds", seconds(settings.window)},
                      {"block_seconds", seconds(settings.block)},
                      {"entries", stats.entries},
                      {"table_size", stats.capacity},
                      {"evictions", stats.evictions},
                      {"list", std::move(list)}};
}

Response shield_request(const Request& req, const Context& ctx, const std::vector<std::string>& s) {
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool clear_all = s.size() == 4 && s[3] == "clear";
  const bool clear_one = s.size() == 6 && s[5] == "clear";
  if (s.size() == 3) {
    if (!get) return not_allowed(req.method, "GET, HEAD");
  } else if (clear_all || clear_one) {
    if (req.method != "POST") return not_allowed(req.method, "POST");
  } else {
    return error_response(
        404, "no such path \"" + std::string(req.target.substr(0, req.target.find('?'))) + "\"");
  }
  if (!ctx.login_shield) return error_response(503, "the login shield is not available");
  routing::LoginShield& shield = *ctx.login_shield;
  auto log = [&](const std::string& line) {
    if (ctx.log) ctx.log(line);
  };
  const std::string by = req.peer.empty() ? "?" : std::string(req.peer);

  if (s.size() == 3) {
    auto limit = limit_of(req.target);
    if (!limit)
      return error_response(400, "limit must be a number from 1 to " + std::to_string(kMaxLimit));
    return json_answer(shield_json(shield, *limit, ctx.now));
  }
  if (clear_all) {
    const size_t n = shield.clear_all();
    log("admin API: login shield cleared (" + std::to_string(n) + " entries) by " + by);
    return json_answer(json::object{{"cleared", n}});
  }
  auto dimension = routing::parse_shield_dimension(s[3]);
  if (!dimension)
    return error_response(
        404, "no dimension \"" + s[3] + "\" (expected address, network, user or country)");
  auto done = shield.clear(*dimension, s[4]);
  if (!done)
    return error_response(400, "\"" + s[4] + "\" is not a key of the " + s[3] + " dimension");
  auto key = routing::shield_key(*dimension, s[4]).value_or(s[4]);
  if (!*done) return error_response(404, "no login shield entry for " + s[3] + " " + key);
  log("admin API: login shield entry " + s[3] + " " + key + " cleared by " + by);
  return json_answer(json::object{{"cleared", 1}, {"dimension", s[3]}, {"key", key}});
}

}  // namespace proxy::admin
