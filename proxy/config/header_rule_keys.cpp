#include "proxy/config/header_rule_keys.h"

#include "proxy/http/host.h"
#include "proxy/http/message_head.h"
#include "proxy/http/value_pattern.h"

namespace proxy::config::detail {
namespace {

using http::RuleAction;

bool token(std::string_view name) {
  constexpr std::string_view kPunct = "!#$%&'*+-.^_`|~";
  if (name.empty()) return false;
  for (char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && kPunct.find(c) == std::string_view::npos) return false;
  }
  return true;
}

// A template's fault, reported at its string with the offset in the message.
void template_error(Errors& errors, const toml::node& node, std::string_view key,
                    const std::string& error, size_t offset) {
  errors.add(node.source(), quoted(key) + ": " + error + " (at character " +
                                std::to_string(offset + 1) + " of the string)");
}

std::optional<http::HeaderRule> read_rule(const toml::table& table, Errors& errors,
                                          std::string_view list, bool request) {
  const std::string where = "in a rule of " + std::string(list);
  Section s(errors, table, where, {"set", "add", "remove", "replace", "value", "pattern", "with"});
  static constexpr std::pair<std::string_view, RuleAction> kActions[] = {
      {"set", RuleAction::Set},
      {"add", RuleAction::Add},
      {"remove", RuleAction::Remove},
      {"replace", RuleAction::Replace}};
  std::optional<RuleAction> action;
  std::string_view action_key;
  int found = 0;
  for (auto [key, a] : kActions) {
    if (!s.find(key)) continue;
    ++found;
    action = a;
    action_key = key;
  }
  if (found != 1) {
    errors.add(s.source(),
               "a header rule needs exactly one of \"set\", \"add\", \"remove\" or "
               "\"replace\", naming the header field (" +
                   where + ")");
    return std::nullopt;
  }
  http::HeaderRule rule;
  rule.action = *action;
  auto name = s.string(action_key);
  if (!name) return std::nullopt;
  bool ok = true;
  if (!token(*name)) {
    s.error(action_key, quoted(*name) + " is not a header field name");
    ok = false;
  } else if (auto why = http::rule_refusal(*name, request, rule.action); !why.empty()) {
    s.error(action_key,
            "a header rule cannot change " + quoted(*name) + ": it " + std::string(why));
    ok = false;
  }
  rule.name = *name;

  auto allow_only = [&](std::initializer_list<std::string_view> keys) {
    for (std::string_view key : {"value", "pattern", "with"}) {
      if (std::find(keys.begin(), keys.end(), key) != keys.end() || !s.find(key)) continue;
      s.error(key, quoted(key) + " does not apply to a " + quoted(action_key) + " rule");
      ok = false;
    }
  };
  int groups = -1;
  if (rule.action == RuleAction::Replace) {
    allow_only({"pattern", "with"});
    const bool has_pattern = s.require("pattern");  // both asked for: both are reported
    const bool has_with = s.require("with");
    if (!has_pattern || !has_with) return std::nullopt;
    auto pattern = s.string("pattern");
    if (!pattern) return std::nullopt;
    std::string error;
    size_t offset = 0;
    rule.pattern = http::ValuePattern::compile(*pattern, error, offset);
    if (!rule.pattern) {
      template_error(errors, *s.find("pattern"), "pattern", "bad regular expression: " + error,
                     offset);
      return std::nullopt;
    }
    groups = static_cast<int>(rule.pattern->groups());
  } else if (rule.action == RuleAction::Remove) {
    allow_only({});
    return ok ? std::optional(std::move(rule)) : std::nullopt;
  } else {
    allow_only({"value"});
    if (!s.require("value")) return std::nullopt;
  }
  const std::string_view value_key = rule.action == RuleAction::Replace ? "with" : "value";
  auto text = s.string(value_key);
  if (!text) return std::nullopt;
  std::string error;
  size_t offset = 0;
  auto value = http::ValueTemplate::parse(*text, groups, error, offset);
  if (!value) {
    template_error(errors, *s.find(value_key), value_key, error, offset);
    return std::nullopt;
  }
  rule.value = std::move(*value);
  if (request && http::iequals(rule.name, "host") && rule.value.literal() &&
      !http::valid_host(rule.value.text())) {
    s.error(value_key, quoted(rule.value.text()) + " is not a valid Host");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return rule;
}

void read_list(const Section& s, Errors& errors, std::string_view key, bool request,
               http::HeaderRuleList& out) {
  auto* array = s.array(key, "a list of rules such as { set = \"X-Name\", value = \"...\" }");
  if (!array) return;
  for (auto& node : *array) {
    auto* table = node.as_table();
    if (!table) {
      errors.add(node.source(), "each rule of " + quoted(key) +
                                    " must be a table such as { remove = \"X-Name\" }");
      continue;
    }
    if (auto rule = read_rule(*table, errors, key, request)) out.push_back(std::move(*rule));
  }
}

}  // namespace

void read_header_rules(const Section& s, Errors& errors, http::HeaderRules& out) {
  read_list(s, errors, "request_headers", true, out.request);
  read_list(s, errors, "response_headers", false, out.response);
}

}  // namespace proxy::config::detail
