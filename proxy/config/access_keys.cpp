#include "proxy/config/access_keys.h"

namespace proxy::config::detail {
namespace {

void read_countries(const Section& s, Errors& errors, std::string_view key,
                    routing::AccessRule& out, bool allow) {
  auto* list = s.array(key, "a list of ISO country codes such as \"DE\"");
  if (!list) return;
  if (list->empty()) errors.add(list->source(), quoted(key) + " is empty: omit it instead");
  for (auto& item : *list) {
    auto* text = item.as_string();
    auto country = text ? routing::Country::from_code(text->get()) : std::nullopt;
    if (!country) {
      errors.add(item.source(), std::string(key) +
                                    ": each entry must be a two-letter ISO 3166 country code "
                                    "such as \"DE\"");
      continue;
    }
    allow ? out.allow_country(*country) : out.deny_country(*country);
  }
}

void read_sources(const Section& s, Errors& errors, std::string_view key, routing::AccessRule& out,
                  bool allow) {
  auto* list = s.array(key, "a list of address ranges such as \"192.0.2.0/24\"");
  if (!list) return;
  if (list->empty()) errors.add(list->source(), quoted(key) + " is empty: omit it instead");
  for (auto& item : *list) {
    auto* text = item.as_string();
    auto cidr = text ? routing::parse_cidr(text->get()) : std::nullopt;
    if (!cidr) {
      errors.add(item.source(),
                 std::string(key) + ": bad address range" +
                     (text ? " " + quoted(text->get()) : "") +
                     " (expected \"ip/prefix\" with the host bits zero, or an address)");
      continue;
    }
    allow ? out.allow_source(*cidr) : out.deny_source(*cidr);
  }
}

bool header_name(std::string_view name) {
  if (name.empty()) return true;  // not sent
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

void read_access_rule(const Section& s, Errors& errors, bool have_geoip, routing::AccessRule& out) {
  if (s.find("allow_countries") && s.find("deny_countries"))
    s.error("deny_countries",
            "set \"allow_countries\" or \"deny_countries\", not both " + s.where());
  read_countries(s, errors, "allow_countries", out, true);
  read_countries(s, errors, "deny_countries", out, false);
  if (auto v = s.boolean("allow_unknown_country")) out.set_allow_unknown_country(*v);
  read_sources(s, errors, "allow_sources", out, true);
  read_sources(s, errors, "deny_sources", out, false);
  if (!have_geoip) {
    for (auto key : {"allow_countries", "deny_countries", "allow_unknown_country"})
      if (s.find(key))
        s.error(key, quoted(key) + " needs a [geoip] table with the database to look in");
  }
}

void read_geoip(const toml::table& table, Errors& errors, GeoipSettings& out) {
  Section s(errors, table, "in [geoip]", {"database", "header", "check_interval"});
  if (s.require("database")) {
    if (auto v = s.string("database")) {
      if (v->empty())
        s.error("database", "\"database\" must be the path of a MaxMind .mmdb file");
      else
        out.database = *v;
    }
  }
  if (auto v = s.string("header")) {
    if (header_name(*v))
      out.header = *v;
    else
      s.error("header",
              "\"header\" must be a header name such as \"X-Country-Code\" (or \"\" "
              "to send none)");
  }
  if (auto v = s.duration("check_interval")) out.check_interval = *v;
}

}  // namespace proxy::config::detail
