#include "proxy/config/login_shield_keys.h"

#include <string>

namespace proxy::config::detail {
namespace {

constexpr int64_t kMaxFailures = 1'000'000;
constexpr int64_t kMaxTable = 10'000'000;

void read_thresholds(const toml::table& table, Errors& errors, routing::ShieldDimension d,
                     routing::ShieldThresholds& out) {
  const std::string name(routing::shield_dimension_name(d));
  Section s(errors, table, "in [login_shield." + name + "]", {"delay_after", "refuse_after"});
  if (auto v = s.integer("delay_after", 0, kMaxFailures))
    out.delay_after = static_cast<uint32_t>(*v);
  if (auto v = s.integer("refuse_after", 0, kMaxFailures))
    out.refuse_after = static_cast<uint32_t>(*v);
  if (out.delay_after != 0 && out.refuse_after != 0 && out.refuse_after < out.delay_after) {
    const char* key = s.find("refuse_after") ? "refuse_after" : "delay_after";
    s.error(key, "\"refuse_after\" (" + std::to_string(out.refuse_after) +
                     ") must be 0 or at least \"delay_after\" (" + std::to_string(out.delay_after) +
                     ") in [login_shield." + name + "]");
  }
}

}  // namespace

void read_login_shield(const toml::table& table, Errors& errors, bool have_geoip,
                       routing::LoginShieldSettings& out) {
  Section s(errors, table, "in [login_shield]",
            {"enabled", "window", "block", "first_delay", "max_delay", "table_size",
             "trusted_clients", "address", "network", "user", "country"});
  if (auto v = s.boolean("enabled")) out.enabled = *v;
  if (auto v = s.duration("window")) out.window = *v;
  if (auto v = s.duration("block")) out.block = *v;
  if (auto v = s.duration("first_delay")) out.first_delay = *v;
  if (auto v = s.duration("max_delay")) out.max_delay = *v;
  if (out.max_delay < out.first_delay) {
    const char* key = s.find("max_delay") ? "max_delay" : "first_delay";
    s.error(key, "\"max_delay\" must be at least \"first_delay\" in [login_shield]");
  }
  if (auto v = s.integer("table_size", 1, kMaxTable)) out.table_size = static_cast<uint32_t>(*v);
  if (auto* list = s.array("trusted_clients", "a list of address ranges such as \"10.0.0.5\"")) {
    for (auto& item : *list) {
      auto* text = item.as_string();
      auto cidr = text ? routing::parse_cidr(text->get()) : std::nullopt;
      if (!cidr) {
        errors.add(item.source(),
                   "trusted_clients: bad address range" +
                       (text ? " " + quoted(text->get()) : std::string()) +
                       " (expected \"ip/prefix\" with the host bits zero, or an address)");
        continue;
      }
      out.trusted_clients.push_back(*cidr);
    }
  }
  for (size_t i = 0; i < routing::kShieldDimensions; ++i) {
    const auto d = static_cast<routing::ShieldDimension>(i);
    const std::string name(routing::shield_dimension_name(d));
    if (auto* t = s.table(name, "[login_shield." + name + "] with delay_after and refuse_after"))
      read_thresholds(*t, errors, d, out.thresholds[i]);
  }
  const auto& country = out.of(routing::ShieldDimension::Country);
  if (!have_geoip && (country.delay_after != 0 || country.refuse_after != 0))
    s.error("country",
            "[login_shield.country] needs a [geoip] table with the database to look "
            "countries up in");
}

}  // namespace proxy::config::detail
