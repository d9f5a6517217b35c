#include "proxy/admin/status_sessions.h"

#include <gtest/gtest.h>

#include "proxy/admin/web_request.h"

namespace proxy::admin {
namespace {

using Time = routing::Clock::time_point;
const Time t0 = Time(std::chrono::hours(100));

TEST(StatusSessions, OpenValidExpireClose) {
  StatusSessions s;
  std::string a = s.open(t0);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, s.open(t0));
  EXPECT_TRUE(s.valid(a, t0 + std::chrono::hours(1)));
  EXPECT_FALSE(s.valid("x" + a.substr(1), t0));
  EXPECT_FALSE(s.valid(a, t0 + StatusSessions::kLifetime));
  std::string b = s.open(t0);
  s.close(b);
  EXPECT_FALSE(s.valid(b, t0));
  std::string c = s.open(t0);
  s.clear();
  EXPECT_FALSE(s.valid(c, t0));
}

TEST(StatusSessions, OldestEndsPastTheLimit) {
  StatusSessions s;
  std::string first = s.open(t0);
  for (size_t i = 1; i <= StatusSessions::kMaxSessions; ++i)
    s.open(t0 + std::chrono::seconds(static_cast<long>(i)));
  EXPECT_EQ(s.size(), StatusSessions::kMaxSessions);
  EXPECT_FALSE(s.valid(first, t0));
}

TEST(StatusSessions, FormTokensArePerSessionAndPerScope) {
  StatusSessions s;
  std::string a = s.open(t0), b = s.open(t0);
  std::string ta = s.form_token(a, "node\ncloud\nn1");
  EXPECT_EQ(ta.size(), 32u);
  EXPECT_EQ(ta, s.form_token(a, "node\ncloud\nn1"));
  EXPECT_TRUE(s.form_token_ok(a, "node\ncloud\nn1", ta));
  EXPECT_FALSE(s.form_token_ok(a, "node\ncloud\nn2", ta));  // another form
  EXPECT_FALSE(s.form_token_ok(b, "node\ncloud\nn1", ta));  // another session
  EXPECT_FALSE(s.form_token_ok(a, "node\ncloud\nn1", ""));
  EXPECT_EQ(s.form_token("nope", "reload"), "");
  EXPECT_FALSE(s.form_token_ok("nope", "reload", ""));
  // without logins: the process's key
  std::string tp = s.form_token("", "reload");
  EXPECT_TRUE(s.form_token_ok("", "reload", tp));
  EXPECT_FALSE(s.form_token_ok(a, "reload", tp));
  StatusSessions other;
  EXPECT_FALSE(other.form_token_ok("", "reload", tp));
}

TEST(WebRequest, FormFieldsAndCookies) {
  EXPECT_EQ(form_field("a=1&token=x+y%21&b=", "token").value(), "x y!");
  EXPECT_EQ(form_field("a=1&b=", "b").value(), "");
  EXPECT_FALSE(form_field("a=1", "token").has_value());
  EXPECT_FALSE(form_field("token=%zz", "token").has_value());
  EXPECT_EQ(cookie_value("a=1; passeur_session=abc ;b=2", "passeur_session"), "abc");
  EXPECT_EQ(cookie_value("passeur_session_x=1", "passeur_session"), "");
  EXPECT_EQ(cookie_value("", "passeur_session"), "");
}

TEST(WebRequest, CrossSiteReasons) {
  EXPECT_EQ(cross_site_reason("", "", "127.0.0.1:9900"), "");  // curl: no browser headers
  EXPECT_EQ(cross_site_reason("http://127.0.0.1:9900", "same-origin", "127.0.0.1:9900"), "");
  EXPECT_EQ(cross_site_reason("http://Edge.example:80", "", "edge.example"), "");
  EXPECT_EQ(cross_site_reason("https://edge.example", "", "edge.example:443"), "");
  EXPECT_EQ(cross_site_reason("", "none", "x"), "");
  EXPECT_NE(cross_site_reason("http://evil.test", "", "127.0.0.1:9900"), "");
  EXPECT_NE(cross_site_reason("http://127.0.0.1:9901", "", "127.0.0.1:9900"), "");
  EXPECT_NE(cross_site_reason("null", "", "127.0.0.1:9900"), "");
  EXPECT_NE(cross_site_reason("http://127.0.0.1:9900", "", ""), "");
  EXPECT_NE(cross_site_reason("", "cross-site", "127.0.0.1:9900"), "");
  EXPECT_NE(cross_site_reason("", "same-site", "127.0.0.1:9900"), "");
}

TEST(WebRequest, HtmlEscape) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

}  // namespace
}  // namespace proxy::admin
