#include "proxy/http/header_rules.h"

#include <gtest/gtest.h>

#include "proxy/http/value_pattern.h"
#include "proxy/http/value_template.h"

namespace proxy::http {
namespace {

const RuleVars kVars{.remote_addr = "192.0.2.7",
                     .host = "cloud.example.coop",
                     .http_host = "Cloud.Example.coop:443",
                     .scheme = "https"};

ValueTemplate tmpl(std::string_view text, int groups = -1) {
  std::string error;
  size_t offset = 0;
  auto t = ValueTemplate::parse(text, groups, error, offset);
  EXPECT_TRUE(t) << text << ": " << error;
  return t.value_or(ValueTemplate{});
}

std::string expand(std::string_view text, std::vector<std::string_view> captures = {},
                   int groups = -1) {
  std::string out;
  tmpl(text, groups).expand(kVars, captures, out);
  return out;
}

HeaderRule rule(RuleAction action, std::string name, std::string_view value = "") {
  return HeaderRule{.action = action, .name = std::move(name), .value = tmpl(value)};
}

HeaderRule replace(std::string name, std::string_view pattern, std::string_view with) {
  std::string error;
  size_t offset = 0;
  auto p = ValuePattern::compile(pattern, error, offset);
  EXPECT_TRUE(p) << error;
  return HeaderRule{.action = RuleAction::Replace,
                    .name = std::move(name),
                    .value = tmpl(with, p ? static_cast<int>(p->groups()) : 0),
                    .pattern = p};
}

std::string apply(std::string head, const HeaderRuleList& rules) {
  apply_rules_to_head(head, {&rules}, kVars);
  return head;
}

TEST(ValueTemplate, LiteralsVariablesAndEscapes) {
  EXPECT_EQ(expand("max-age=63072000; includeSubDomains"), "max-age=63072000; includeSubDomains");
  EXPECT_EQ(expand("$remote_addr"), "192.0.2.7");
  EXPECT_EQ(expand("$scheme://$host/x"), "https://cloud.example.coop/x");
  EXPECT_EQ(expand("[$http_host]"), "[Cloud.Example.coop:443]");
  EXPECT_EQ(expand("cost: $$5 and $"), "cost: $5 and $");
  EXPECT_EQ(expand("a\\b"), "a\\b");  // a backslash is literal outside a replacement
  EXPECT_TRUE(tmpl("default-src 'self'").literal());
  EXPECT_FALSE(tmpl("$host").literal());
  EXPECT_EQ(tmpl("x $host").text(), "x $host");
}

TEST(ValueTemplate, Captures) {
  EXPECT_EQ(expand("http://\\1", {"https://h/a", "h/a"}, 1), "http://h/a");
  EXPECT_EQ(expand("$2-$1 [$0]", {"a=b", "a", "b"}, 2), "b-a [a=b]");
  EXPECT_EQ(expand("\\\\\\1", {"x", "y"}, 1), "\\y");
  EXPECT_EQ(expand("$1", {"x", ""}, 1), "");  // an unmatched group is empty
}

TEST(ValueTemplate, Faults) {
  struct Case {
    std::string_view text;
    int groups;
    size_t offset;
    std::string_view says;
  };
  for (const Case& c : {
           Case{"$remote_adr", -1, 0, "unknown variable $remote_adr"},
           Case{"ok $nope", -1, 3, "unknown variable $nope"},
           Case{"a\rb", -1, 1, "control characters"},
           Case{"a\nb", -1, 1, "control characters"},
           Case{std::string_view("a\0b", 3), -1, 1, "control characters"},
           Case{"http://$1", -1, 7, "only in the \"with\""},
           Case{"\\2", 1, 0, "capture 2 is named but the pattern has 1 group"},
           Case{"$3", 0, 0, "the pattern has 0 groups"},
       }) {
    std::string error;
    size_t offset = 99;
    EXPECT_FALSE(ValueTemplate::parse(c.text, c.groups, error, offset)) << c.text;
    EXPECT_NE(error.find(c.says), std::string::npos) << c.text << ": " << error;
    EXPECT_EQ(offset, c.offset) << c.text;
  }
}

TEST(ValuePattern, SearchAndCaptures) {
  std::string error;
  size_t offset = 0;
  auto p = ValuePattern::compile("^https://([^/]+)(/.*)?$", error, offset);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->groups(), 2u);
  std::vector<std::string_view> caps;
  ASSERT_TRUE(p->search("https://cloud.example.coop/dav/a%20b", caps));
  ASSERT_EQ(caps.size(), 3u);
  EXPECT_EQ(caps[1], "cloud.example.coop");
  EXPECT_EQ(caps[2], "/dav/a%20b");
  ASSERT_TRUE(p->search("https://h", caps));
  EXPECT_EQ(caps[2], "");
  EXPECT_FALSE(p->search("http://h/x", caps));
  auto any = ValuePattern::compile("b", error, offset);
  ASSERT_TRUE(any);
  EXPECT_TRUE(any->search("abc", caps));  // a search, as HAProxy's: anchor with ^ and $
  EXPECT_EQ(caps[0], "b");
}

TEST(ValuePattern, BadPatternsGiveTheirOffset) {
  for (auto [text, at] : {std::pair<std::string_view, size_t>{"^(https://.*$", 1},
                          {"a[b", 1},
                          {"x{2,1}", 5},
                          {"*a", 0}}) {
    std::string error;
    size_t offset = 99;
    EXPECT_FALSE(ValuePattern::compile(text, error, offset)) << text;
    EXPECT_FALSE(error.empty()) << text;
    EXPECT_LE(offset, text.size()) << text;
    EXPECT_GE(offset + 2, at) << text << " " << offset;
  }
}

TEST(ValuePattern, LongValuesDoNotExhaustTheMatcher) {
  std::string error;
  size_t offset = 0;
  auto p = ValuePattern::compile("^(a|aa)*(b)$", error, offset);
  ASSERT_TRUE(p);
  std::vector<std::string_view> caps;
  const std::string value(60000, 'a');
  EXPECT_FALSE(p->search(value, caps));  // no match, and no crash or endless search
}

TEST(HeaderRules, SetAddRemoveReplace) {
  const std::string head =
      "GET /x HTTP/1.1\r\nHost: cloud.example.coop\r\nX-A: 1\r\nx-a: 2\r\nDestination: "
      "https://cloud.example.coop/dav/b\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(apply(head, {rule(RuleAction::Set, "X-A", "one")}),
            "GET /x HTTP/1.1\r\nHost: cloud.example.coop\r\nDestination: "
            "https://cloud.example.coop/dav/b\r\nContent-Length: 0\r\nX-A: one\r\n\r\n");
  EXPECT_EQ(apply(head, {rule(RuleAction::Add, "X-A", "3")}),
            head.substr(0, head.size() - 2) + "X-A: 3\r\n\r\n");
  EXPECT_EQ(apply(head, {rule(RuleAction::Remove, "x-A")}),
            "GET /x HTTP/1.1\r\nHost: cloud.example.coop\r\nDestination: "
            "https://cloud.example.coop/dav/b\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(apply(head, {replace("Destination", "^https://(.*)$", "http://\\1")}),
            "GET /x HTTP/1.1\r\nHost: cloud.example.coop\r\nX-A: 1\r\nx-a: 2\r\nDestination: "
            "http://cloud.example.coop/dav/b\r\nContent-Length: 0\r\n\r\n");
  // No match: unchanged. Each copy is matched on its own.
  EXPECT_EQ(apply(head, {replace("Destination", "^ftp://(.*)$", "x")}), head);
  EXPECT_EQ(apply(head, {replace("X-A", "^2$", "two")}),
            "GET /x HTTP/1.1\r\nHost: cloud.example.coop\r\nX-A: 1\r\nx-a: two\r\nDestination: "
            "https://cloud.example.coop/dav/b\r\nContent-Length: 0\r\n\r\n");
}

TEST(HeaderRules, InOrderAndAcrossLists) {
  const std::string head = "HTTP/1.1 200 OK\r\nServer: Apache/2.4\r\n\r\n";
  HeaderRuleList listener{rule(RuleAction::Set, "X-Frame-Options", "DENY"),
                          rule(RuleAction::Add, "X-Seen", "listener")};
  HeaderRuleList route{rule(RuleAction::Set, "X-Frame-Options", "SAMEORIGIN"),
                       replace("Server", "^Apache", "web"),
                       rule(RuleAction::Add, "X-Client", "$remote_addr")};
  std::string out = head;
  apply_rules_to_head(out, {&listener, &route}, kVars);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nServer: web\r\nX-Seen: listener\r\nX-Frame-Options: "
            "SAMEORIGIN\r\nX-Client: 192.0.2.7\r\n\r\n");
  // An empty list and a null one change nothing; a head without fields gets its fields.
  out = head;
  HeaderRuleList none;
  apply_rules_to_head(out, {&none, nullptr}, kVars);
  EXPECT_EQ(out, head);
  out = "HTTP/1.1 204 No Content\r\n\r\n";
  apply_rules_to_head(out, {&listener}, kVars);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nX-Frame-Options: DENY\r\nX-Seen: listener\r\n\r\n");
}

TEST(HeaderRules, RemoveThenSetAndSetEmpty) {
  EXPECT_EQ(apply("GET / HTTP/1.1\r\nA: 1\r\n\r\n",
                  {rule(RuleAction::Remove, "A"), rule(RuleAction::Set, "B", "")}),
            "GET / HTTP/1.1\r\nB: \r\n\r\n");
}

TEST(HeaderRules, Refusals) {
  for (std::string_view name : {"Connection", "keep-alive", "Proxy-Connection", "TE", "Trailer",
                                "Upgrade", "Transfer-Encoding", "content-length"}) {
    for (bool request : {true, false}) {
      for (auto action :
           {RuleAction::Set, RuleAction::Add, RuleAction::Remove, RuleAction::Replace})
        EXPECT_FALSE(rule_refusal(name, request, action).empty()) << name;
    }
  }
  EXPECT_FALSE(rule_refusal("Expect", true, RuleAction::Remove).empty());
  EXPECT_TRUE(rule_refusal("Expect", false, RuleAction::Set).empty());
  EXPECT_TRUE(rule_refusal("Host", true, RuleAction::Set).empty());
  EXPECT_FALSE(rule_refusal("host", true, RuleAction::Remove).empty());
  EXPECT_FALSE(rule_refusal("Host", true, RuleAction::Add).empty());
  EXPECT_FALSE(rule_refusal("Host", true, RuleAction::Replace).empty());
  EXPECT_TRUE(rule_refusal("X-Forwarded-For", true, RuleAction::Remove).empty());
  EXPECT_TRUE(rule_refusal("Content-Security-Policy", false, RuleAction::Set).empty());
}

}  // namespace
}  // namespace proxy::http
