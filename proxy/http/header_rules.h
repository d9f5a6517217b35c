// Header rules of a listener or a route: fields an operator sets, adds, removes or rewrites in
// the requests sent to nodes and the responses sent to clients, after Passeur's own fields
// (X-Forwarded-*, Forwarded, Via, the country header, HSTS). Framing and hop-by-hop fields are
// Passeur's alone: a rule cannot name them (refusal() says which, at config load).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/value_template.h"

namespace proxy::http {

class ValuePattern;

enum class RuleAction : uint8_t {
  Set,      // every copy removed, then one field with the value (nginx's proxy_set_header)
  Add,      // one more field, whatever is there (add_header ... always, HAProxy add-header)
  Remove,   // every copy removed (HAProxy del-header)
  Replace,  // each copy whose value the pattern matches becomes the replacement, captures
            // expanded (HAProxy replace-header: the whole value is replaced)
};

struct HeaderRule {
  RuleAction action = RuleAction::Set;
  std::string name;
  ValueTemplate value;                          // Set, Add: the value; Replace: the replacement
  std::shared_ptr<const ValuePattern> pattern;  // Replace
};

using HeaderRuleList = std::vector<HeaderRule>;

// The rules of one listener or one route.
struct HeaderRules {
  HeaderRuleList request;   // on the request head sent to a node
  HeaderRuleList response;  // on the response head sent to the client
};

// Why a rule may not act on this field name, or empty when it may. `request`: a request rule.
std::string_view rule_refusal(std::string_view name, bool request, RuleAction action);

// A field of a head being rewritten.
struct RuleField {
  std::string name;
  std::string value;
};

// Applies `rules` in order to `fields`.
void apply_rules(const HeaderRuleList& rules, const RuleVars& vars, std::vector<RuleField>& fields);

// Applies each list in turn to the fields of `head`, a head Passeur wrote (start line, fields,
// empty line, every line ending in CRLF). The start line stays as it is.
void apply_rules_to_head(std::string& head, std::initializer_list<const HeaderRuleList*> lists,
                         const RuleVars& vars);

}  // namespace proxy::http
