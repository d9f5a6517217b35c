#include "proxy/config/pool_health.h"

#include <algorithm>
#include <charconv>

namespace proxy::config::detail {
namespace {

using routing::CheckType;

constexpr size_t kMaxExpectBody = 64 * 1024;  // what an http probe reads of a body

struct TypeName {
  std::string_view name;
  CheckType type;
};
constexpr TypeName kTypes[] = {{"http", CheckType::Http}, {"tcp", CheckType::Tcp},
                               {"tls", CheckType::Tls},   {"imap", CheckType::Imap},
                               {"pop3", CheckType::Pop3}, {"smtp", CheckType::Smtp}};

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool visible(std::string_view text, std::string_view also_refused = {}) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || also_refused.find(c) != std::string_view::npos) return false;
  }
  return true;
}

std::optional<uint16_t> status_number(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value < 100 || value > 599) return std::nullopt;
  return static_cast<uint16_t>(value);
}

void read_host(const Section& s, routing::CheckSettings& out) {
  if (auto v = s.string("host")) {
    if (v->empty() || !visible(*v, ",")) {
      s.error("host", "\"host\" must be a host name (with an optional port), without spaces");
    } else {
      out.host = *v;
    }
  }
}

// The http keys: only for type = "http".
void read_http(const Section& s, routing::CheckSettings& out) {
  if (auto v = s.string("method")) {
    if (v->empty() || !std::all_of(v->begin(), v->end(), token_char)) {
      s.error("method", "\"method\" must be an HTTP method such as \"GET\" or \"HEAD\"");
    } else {
      out.method = *v;
    }
  }
  if (auto v = s.string("path")) {
    if (!v->starts_with("/")) {
      s.error("path", "\"path\" must start with \"/\"");
    } else if (!visible(*v, "#")) {
      s.error("path", "\"path\" must not contain spaces, control characters or \"#\"");
    } else {
      out.path = *v;
    }
  }
  read_host(s, out);
  if (auto* node = s.find("expect_status")) {
    std::optional<std::pair<uint16_t, uint16_t>> range;
    if (auto* i = node->as_integer()) {
      if (i->get() >= 100 && i->get() <= 599) {
        auto status = static_cast<uint16_t>(i->get());
        range = std::pair(status, status);
      }
    } else if (auto* text = node->as_string()) {
      range = parse_status_range(text->get());
    }
    if (range) {
      out.status_min = range->first;
      out.status_max = range->second;
    } else {
      s.error("expect_status",
              "\"expect_status\" must be a status or a range of statuses in 100-599, such as "
              "200 or \"200-399\"");
    }
  }
  if (auto v = s.string("expect_body")) {
    if (v->empty()) {
      s.error("expect_body", "\"expect_body\" must not be empty (omit it to ignore the body)");
    } else if (v->size() > kMaxExpectBody) {
      s.error("expect_body", "\"expect_body\" must be shorter than 64KiB");
    } else {
      out.expect_body = *v;
    }
  }
}

void read_check(const Section& s, routing::PoolSettings& out) {
  routing::CheckSettings& check = out.check;
  routing::HealthPolicy& policy = out.health;
  if (s.require("type")) {
    if (auto v = s.string("type")) {
      for (const auto& t : kTypes)
        if (*v == t.name) check.type = t.type;
      if (check.type == CheckType::None) {
        s.error("type", "unknown check type " + quoted(*v) +
                            " (expected \"http\", \"tcp\", \"tls\", \"imap\", \"pop3\" or "
                            "\"smtp\")");
      }
    }
  }
  if (auto v = s.integer("port", 1, 65535)) check.port = static_cast<uint16_t>(*v);
  if (auto v = s.address("address")) {
    if (s.find("port")) {
      s.error("address",
              "\"address\" and \"port\" cannot be used together (\"address\" names "
              "the port too)");
    } else {
      check.address = v->text;
    }
  }
  if (auto v = s.duration("timeout")) check.timeout = *v;
  if (auto v = s.duration("interval")) policy.interval = *v;
  if (auto v = s.duration("fast_interval")) policy.fast_interval = *v;
  if (auto v = s.duration("down_interval")) policy.down_interval = *v;
  if (auto v = s.integer("rise", 1, 100)) policy.rise = static_cast<uint32_t>(*v);
  if (auto v = s.integer("fall", 1, 100)) policy.fall = static_cast<uint32_t>(*v);

  const bool http = check.type == CheckType::Http;
  const bool known = check.type != CheckType::None;
  for (auto key : {"method", "path", "expect_status", "expect_body"}) {
    if (s.find(key) && !http && known)
      s.error(key, quoted(key) + " applies only to a check of type \"http\"");
  }
  if (s.find("host") && known && !http && check.type != CheckType::Tls)
    s.error("host", "\"host\" applies only to a check of type \"http\" or \"tls\"");
  if (http) read_http(s, check);
  if (check.type == CheckType::Tls) read_host(s, check);
  if (auto v = s.string("ca")) {
    if (check.type != CheckType::Tls && check.type != CheckType::None) {
      s.error("ca",
              "\"ca\" applies only to a check of type \"tls\" (other checks use the "
              "pool's \"ca\" when it has tls = true)");
    } else if (v->empty()) {
      s.error("ca", "\"ca\" must be a file path");
    } else {
      check.ca = *v;
    }
  }
}

}  // namespace

std::optional<std::pair<uint16_t, uint16_t>> parse_status_range(std::string_view text) {
  const size_t dash = text.find('-');
  auto low = status_number(text.substr(0, dash));
  auto high = dash == std::string_view::npos ? low : status_number(text.substr(dash + 1));
  if (!low || !high || *low > *high) return std::nullopt;
  return std::pair(*low, *high);
}

void read_pool_health(const Section& pool, Errors& errors, routing::PoolSettings& out) {
  const std::string header = "[pool." + out.name + "]";
  if (auto* table = pool.table("check", "an inline table such as check = { type = \"tcp\" }")) {
    Section s(errors, *table, "in the check of " + header,
              {"type", "port", "address", "timeout", "interval", "fast_interval", "down_interval",
               "rise", "fall", "method", "path", "host", "expect_status", "expect_body", "ca"});
    read_check(s, out);
  }
  const bool checked = pool.find("check") != nullptr;
  routing::HealthPolicy& policy = out.health;

  if (auto v = pool.duration("slow_start", true)) {
    policy.slow_start = *v;
    if (!checked && *v > Millis(0))
      pool.error("slow_start", "\"slow_start\" applies only to a pool with a \"check\"");
  }
  if (auto v = pool.duration("drain_timeout", true)) policy.drain_timeout = *v;

  // Passive checks only take nodes down: with an active check to bring them back they are on
  // by default (3 failures in a row), and without one they cannot be turned on.
  policy.passive_failures = checked ? 3 : 0;
  if (auto v = pool.integer("passive_failures", 0, 1000)) {
    policy.passive_failures = static_cast<uint32_t>(*v);
    if (!checked && *v > 0)
      pool.error("passive_failures",
                 "\"passive_failures\" needs a \"check\" in " + header + " to bring nodes back up");
  }
  if (auto v = pool.boolean("passive_5xx")) {
    policy.passive_5xx = *v;
    if (*v && !checked) {
      pool.error("passive_5xx",
                 "\"passive_5xx\" needs a \"check\" in " + header + " to bring nodes back up");
    } else if (*v && policy.passive_failures == 0) {
      pool.error("passive_5xx", "\"passive_5xx\" needs \"passive_failures\" above 0");
    }
  }
}

}  // namespace proxy::config::detail
