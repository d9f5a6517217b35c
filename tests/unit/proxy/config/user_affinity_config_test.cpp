// User affinity of mail pools in the config file: affinity = "user", balance_factor, user_key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proxy/config/config_loader.h"

namespace proxy::config {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> errors_of(std::string_view text) {
  auto result = load_string(text, "t.toml");
  EXPECT_FALSE(result.ok());
  std::vector<std::string> out;
  for (auto& e : result.errors) out.push_back(e.str());
  return out;
}

Config load_ok(std::string_view text) {
  auto result = load_string(text, "t.toml");
  for (auto& e : result.errors) ADD_FAILURE() << e.str();
  EXPECT_TRUE(result.ok());
  return result.config.value_or(Config{});
}

constexpr std::string_view kImap = R"([[listener]]
name = "imap"
listen = "127.0.0.1:1143"
protocol = "imap"
pool = "mail"
allow_plaintext_auth = true

)";

TEST(UserAffinityConfig, ImapPoolsDefaultToUser) {
  Config c = load_ok(std::string(kImap) + R"([pool.mail]
nodes = ["10.0.0.1:143"]

[pool.other]
nodes = ["10.0.0.1:143"]
)");
  ASSERT_EQ(c.pools.size(), 2u);
  EXPECT_EQ(c.pools[0].affinity, routing::Affinity::User);
  EXPECT_DOUBLE_EQ(c.pools[0].balance_factor, 1.25);
  EXPECT_EQ(c.pools[0].user_key, routing::UserKey::Whole);
  EXPECT_EQ(c.pools[1].affinity, routing::Affinity::None);
}

constexpr std::string_view kSmtp = R"([[listener]]
name = "submission"
listen = "127.0.0.1:1587"
protocol = "smtp"
pool = "submission"
allow_plaintext_auth = true

)";

TEST(UserAffinityConfig, SmtpPoolsDefaultToNoneAndMayAskForUser) {
  Config c = load_ok(std::string(kSmtp) + R"([pool.submission]
nodes = ["10.0.0.1:587"]
)");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].protocol, Protocol::Smtp);
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].affinity, routing::Affinity::None);
  c = load_ok(std::string(kSmtp) + R"([pool.submission]
affinity = "user"
nodes = ["10.0.0.1:587"]
)");
  EXPECT_EQ(c.pools[0].affinity, routing::Affinity::User);
  // A pool an IMAP listener uses too keeps the IMAP default.
  c = load_ok(std::string(kSmtp) + std::string(kImap) + R"([pool.submission]
nodes = ["10.0.0.1:587"]
[pool.mail]
nodes = ["10.0.0.1:143"]
)");
  ASSERT_EQ(c.pools.size(), 2u);
  for (const auto& p : c.pools)
    EXPECT_EQ(p.affinity, p.name == "mail" ? routing::Affinity::User : routing::Affinity::None)
        << p.name;
  EXPECT_THAT(errors_of(std::string(kSmtp) + R"([pool.submission]
affinity = "source"
nodes = ["10.0.0.1:587"]
)"),
              ElementsAre("t.toml:9:12: \"affinity\" of a pool used by an smtp listener must be "
                          "\"none\" or \"user\": pool \"submission\" is used by the smtp "
                          "listener \"submission\""));
}

TEST(UserAffinityConfig, Values) {
  Config c = load_ok(std::string(kImap) + R"([pool.mail]
affinity = "user"
balance_factor = 1.5
user_key = "local-part"
nodes = ["10.0.0.1:143"]
)");
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].affinity, routing::Affinity::User);
  EXPECT_DOUBLE_EQ(c.pools[0].balance_factor, 1.5);
  EXPECT_EQ(c.pools[0].user_key, routing::UserKey::LocalPart);
  c = load_ok(std::string(kImap) + R"([pool.mail]
affinity = "none"
balance_factor = 2
nodes = ["10.0.0.1:143"]
)");
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].affinity, routing::Affinity::None);
  EXPECT_DOUBLE_EQ(c.pools[0].balance_factor, 2.0);
}

TEST(UserAffinityConfig, BadValuesNameTheirKey) {
  EXPECT_THAT(errors_of(std::string(kImap) + R"([pool.mail]
balance_factor = 0.5
user_key = "domain"
nodes = ["10.0.0.1:143"]
)"),
              ElementsAre("t.toml:9:18: \"balance_factor\" must be between 1.0 and 1000",
                          "t.toml:10:12: unknown user_key \"domain\" (expected \"whole\" or "
                          "\"local-part\")"));
  EXPECT_THAT(errors_of(std::string(kImap) + R"([pool.mail]
balance_factor = "high"
nodes = ["10.0.0.1:143"]
)"),
              ElementsAre("t.toml:9:18: \"balance_factor\" must be a number"));
  EXPECT_THAT(errors_of(std::string(kImap) + R"([pool.mail]
affinity = "cookie"
nodes = ["10.0.0.1:143"]
)"),
              ElementsAre("t.toml:9:12: \"affinity\" of a pool used by an imap listener must be "
                          "\"none\" or \"user\": pool \"mail\" is used by the imap listener "
                          "\"imap\""));
}

TEST(UserAffinityConfig, HttpRoutesRefuseUser) {
  EXPECT_THAT(errors_of(R"([[listener]]
listen = "127.0.0.1:8080"

[[route]]
pool = "p"

[pool.p]
affinity = "user"
nodes = ["10.0.0.1:80"]
)"),
              ElementsAre("t.toml:8:12: affinity = \"user\" applies only to pools of imap "
                          "listeners: pool \"p\" is used by an HTTP route"));
  EXPECT_THAT(errors_of(R"([[listener]]
name = "t"
listen = "127.0.0.1:1143"
protocol = "tcp"
pool = "p"

[pool.p]
affinity = "user"
nodes = ["10.0.0.1:143"]
)"),
              ElementsAre("t.toml:8:12: \"affinity\" applies only to pools of HTTP routes and "
                          "mail listeners: pool \"p\" is used by the tcp listener \"t\""));
}

}  // namespace
}  // namespace proxy::config
