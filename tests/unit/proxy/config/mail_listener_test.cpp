// Mail listeners (protocol = "imap") and their keys in the config file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proxy/config/config_loader.h"

namespace proxy::config {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

std::vector<std::string> errors_of(std::string_view text) {
  auto result = load_string(text, "t.toml");
  EXPECT_FALSE(result.ok());
  std::vector<std::string> out;
  for (auto& e : result.errors) out.push_back(e.str());
  return out;
}

TEST(MailListenerConfig, ImapListenersAndTheirKeys) {
  auto result = load_string(R"([[certificate]]
cert = "/etc/c.pem"
key = "/etc/k.pem"

[[listener]]
name = "imap"
listen = "0.0.0.0:143"
protocol = "imap"
pool = "imap"
login_timeout = "20s"

[[listener]]
name = "imaps"
listen = "0.0.0.0:993"
protocol = "imap"
tls = true
pool = "imap"

[[listener]]
name = "imap-lan"
listen = "10.0.0.1:143"
protocol = "imap"
pool = "imap"
allow_plaintext_auth = true

[pool.imap]
nodes = ["10.0.0.11:10143"]
proxy_protocol = "v2"
mail_id = true
)",
                            "t.toml");
  for (auto& e : result.errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(result.ok());
  const Config& c = *result.config;
  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[0].protocol, Protocol::Imap);
  EXPECT_EQ(c.listeners[0].login_timeout, milliseconds(20'000));
  EXPECT_FALSE(c.listeners[0].allow_plaintext_auth);
  EXPECT_EQ(c.listeners[1].login_timeout, milliseconds(60'000));
  EXPECT_TRUE(c.listeners[1].tls);
  EXPECT_TRUE(c.listeners[2].allow_plaintext_auth);
  EXPECT_EQ(c.listeners[2].idle_timeout, milliseconds(30 * 60'000));
  EXPECT_TRUE(c.pools[0].mail_id);
}

TEST(MailListenerConfig, PlainListenerNeedsACertificateOrPlaintextAllowed) {
  EXPECT_THAT(errors_of(R"([[listener]]
listen = "127.0.0.1:143"
protocol = "imap"
pool = "imap"
[pool.imap]
nodes = ["10.0.0.1:143"]
)"),
              ElementsAre("t.toml:3:12: a plain imap listener needs a [[certificate]] for "
                          "STARTTLS: logins are refused before TLS (or set allow_plaintext_auth "
                          "= true)"));
}

TEST(MailListenerConfig, BadValuesAndKeysOfOtherListeners) {
  EXPECT_THAT(
      errors_of(R"([[listener]]
listen = "127.0.0.1:143"
protocol = "imap"
pool = "imap"
allow_plaintext_auth = "yes"
login_timeout = "soon"
[[listener]]
listen = "127.0.0.1:110"
protocol = "tcp"
pool = "imap"
login_timeout = "10s"
[[listener]]
listen = "127.0.0.1:80"
allow_plaintext_auth = true
[pool.imap]
nodes = ["10.0.0.1:143"]
mail_id = 1
)"),
      ElementsAre("t.toml:3:12: a plain imap listener needs a [[certificate]] for STARTTLS: "
                  "logins are refused before TLS (or set allow_plaintext_auth = true)",
                  "t.toml:5:24: \"allow_plaintext_auth\" must be true or false",
                  "t.toml:6:17: \"login_timeout\": bad duration \"soon\" (a whole number with ms, "
                  "s, m or h)",
                  "t.toml:11:17: \"login_timeout\" applies only to a mail listener (protocol = "
                  "\"imap\", \"pop3\" or \"smtp\")",
                  "t.toml:14:24: \"allow_plaintext_auth\" applies only to a mail listener "
                  "(protocol = \"imap\", \"pop3\" or \"smtp\")",
                  "t.toml:17:11: \"mail_id\" must be true or false"));
}

TEST(MailListenerConfig, XclientForSmtpPoolsOnly) {
  auto result = load_string(R"([[listener]]
name = "submission"
listen = "127.0.0.1:587"
protocol = "smtp"
pool = "submission"
allow_plaintext_auth = true

[pool.submission]
nodes = ["10.0.0.11:10587"]
xclient = true

[pool.unused]
nodes = ["10.0.0.12:10587"]
)",
                            "t.toml");
  for (auto& e : result.errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.config->pools[0].xclient);
  EXPECT_FALSE(result.config->pools[1].xclient);

  EXPECT_THAT(errors_of(R"([[listener]]
name = "imap"
listen = "127.0.0.1:143"
protocol = "imap"
pool = "mail"
allow_plaintext_auth = true
[[listener]]
name = "submission"
listen = "127.0.0.1:587"
protocol = "smtp"
pool = "mail"
allow_plaintext_auth = true
[[listener]]
name = "relay"
listen = "127.0.0.1:25"
protocol = "tcp"
pool = "smtp"
[pool.mail]
nodes = ["10.0.0.1:143"]
xclient = true
[pool.smtp]
nodes = ["10.0.0.1:25"]
xclient = true
[pool.bad]
nodes = ["10.0.0.1:26"]
xclient = "yes"
)"),
              ElementsAre("t.toml:20:11: \"xclient\" (Postfix's XCLIENT command) applies only to "
                          "pools of smtp listeners: pool \"mail\" is used by the imap listener "
                          "\"imap\"",
                          "t.toml:23:11: \"xclient\" (Postfix's XCLIENT command) applies only to "
                          "pools of smtp listeners: pool \"smtp\" is used by the tcp listener "
                          "\"relay\"",
                          "t.toml:26:11: \"xclient\" must be true or false"));
}

}  // namespace
}  // namespace proxy::config
