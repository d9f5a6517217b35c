#include "proxy/http/header_rules.h"

#include <algorithm>

#include "proxy/http/message_head.h"
#include "proxy/http/value_pattern.h"

namespace proxy::http {

std::string_view rule_refusal(std::string_view name, bool request, RuleAction action) {
  static constexpr std::string_view kHop[] = {
      "connection", "keep-alive", "proxy-connection",  "te",
      "trailer",    "upgrade",    "transfer-encoding", "content-length"};
  for (std::string_view hop : kHop) {
    if (iequals(name, hop)) return "is a hop-by-hop or framing field, which Passeur writes itself";
  }
  if (request && iequals(name, "expect"))
    return "is part of the request's framing (100-continue), which Passeur handles itself";
  if (request && iequals(name, "host") && action != RuleAction::Set)
    return "must be sent exactly once: only a \"set\" rule may change it";
  return {};
}

void apply_rules(const HeaderRuleList& rules, const RuleVars& vars,
                 std::vector<RuleField>& fields) {
  std::vector<std::string_view> captures;
  std::string value;
  for (const HeaderRule& rule : rules) {
    auto named = [&](const RuleField& f) { return iequals(f.name, rule.name); };
    switch (rule.action) {
      case RuleAction::Set:
      case RuleAction::Add:
        value.clear();
        rule.value.expand(vars, {}, value);
        if (rule.action == RuleAction::Set) std::erase_if(fields, named);
        fields.push_back({rule.name, value});
        break;
      case RuleAction::Remove:
        std::erase_if(fields, named);
        break;
      case RuleAction::Replace:
        for (RuleField& f : fields) {
          if (!named(f) || !rule.pattern->search(f.value, captures)) continue;
          value.clear();
          rule.value.expand(vars, captures, value);
          f.value = value;
        }
        break;
    }
  }
}

void apply_rules_to_head(std::string& head, std::initializer_list<const HeaderRuleList*> lists,
                         const RuleVars& vars) {
  const size_t start_end = head.find("\r\n");
  if (start_end == std::string::npos) return;
  std::vector<RuleField> fields;
  for (size_t pos = start_end + 2; pos < head.size();) {
    const size_t end = head.find("\r\n", pos);
    if (end == std::string::npos || end == pos) break;
    const std::string_view line(head.data() + pos, end - pos);
    const size_t colon = line.find(':');
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    fields.push_back({std::string(line.substr(0, colon)), std::string(value)});
    pos = end + 2;
  }
  for (const HeaderRuleList* rules : lists)
    if (rules) apply_rules(*rules, vars, fields);
  head.resize(start_end + 2);
  for (const RuleField& f : fields) head.append(f.name).append(": ").append(f.value).append("\r\n");
  head.append("\r\n");
}

}  // namespace proxy::http
