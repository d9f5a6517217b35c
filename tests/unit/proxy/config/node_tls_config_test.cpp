// STARTTLS from Passeur to the nodes of mail pools: node_tls, node_verify, node_ca_file,
// node_server_name.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "load_text.h"

namespace proxy::config {
namespace {

using ::testing::ElementsAre;

constexpr std::string_view kSmtp = R"([[listener]]
name = "submission"
listen = "127.0.0.1:1587"
protocol = "smtp"
pool = "submission"
allow_plaintext_auth = true

)";

TEST(NodeTlsConfig, DefaultsToNone) {
  Config c = load_ok(std::string(kSmtp) + R"([pool.submission]
nodes = ["10.0.0.1:587"]
)");
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].node_tls, routing::NodeTls::None);
  EXPECT_TRUE(c.pools[0].node_verify);
  EXPECT_EQ(c.pools[0].node_ca_file, "");
  EXPECT_EQ(c.pools[0].node_server_name, "");
}

TEST(NodeTlsConfig, ReadsStartTlsAndItsKeys) {
  Config c = load_ok(std::string(kSmtp) + R"([pool.submission]
nodes = ["10.0.0.1:587"]
node_tls = "starttls"
node_ca_file = "/etc/passeur/nodes-ca.pem"
node_server_name = "mail.example.org"
)");
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].node_tls, routing::NodeTls::StartTls);
  EXPECT_TRUE(c.pools[0].node_verify);
  EXPECT_EQ(c.pools[0].node_ca_file, "/etc/passeur/nodes-ca.pem");
  EXPECT_EQ(c.pools[0].node_server_name, "mail.example.org");
}

TEST(NodeTlsConfig, ReadsAutoWithoutVerification) {
  Config c = load_ok(R"([[listener]]
name = "imap"
listen = "127.0.0.1:1143"
protocol = "imap"
pool = "mail"
allow_plaintext_auth = true

[pool.mail]
nodes = ["10.0.0.1:143"]
node_tls = "auto"
node_verify = false
)");
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].node_tls, routing::NodeTls::Auto);
  EXPECT_FALSE(c.pools[0].node_verify);
}

TEST(NodeTlsConfig, RefusesAnUnknownMode) {
  EXPECT_THAT(errors_of(std::string(kSmtp) + R"([pool.submission]
nodes = ["10.0.0.1:587"]
node_tls = "tls"
)"),
              ElementsAre("t.toml:10:12: unknown node_tls \"tls\" (expected \"none\", "
                          "\"starttls\" or \"auto\")"));
}

TEST(NodeTlsConfig, RefusesBadValues) {
  EXPECT_THAT(errors_of(std::string(kSmtp) + R"([pool.submission]
nodes = ["10.0.0.1:587"]
node_tls = "starttls"
node_verify = "no"
node_ca_file = ""
node_server_name = "a b"
)"),
              ElementsAre("t.toml:11:15: \"node_verify\" must be true or false",
                          ::testing::HasSubstr("\"node_ca_file\" must not be empty"),
                          "t.toml:13:20: \"node_server_name\": bad name \"a b\""));
}

TEST(NodeTlsConfig, ItsKeysNeedNodeTls) {
  EXPECT_THAT(errors_of(std::string(kSmtp) + R"([pool.submission]
nodes = ["10.0.0.1:587"]
node_verify = false
node_ca_file = "/etc/ca.pem"
node_server_name = "mail.example.org"
)"),
              ElementsAre("t.toml:10:15: \"node_verify\" applies only to a pool with node_tls = "
                          "\"starttls\" or \"auto\"",
                          "t.toml:11:16: \"node_ca_file\" applies only to a pool with node_tls "
                          "= \"starttls\" or \"auto\"",
                          "t.toml:12:20: \"node_server_name\" applies only to a pool with "
                          "node_tls = \"starttls\" or \"auto\""));
}

TEST(NodeTlsConfig, OnlyForPoolsOfMailListeners) {
  EXPECT_THAT(errors_of(R"([[listener]]
name = "raw"
listen = "127.0.0.1:1143"
protocol = "tcp"
pool = "mail"

[pool.mail]
nodes = ["10.0.0.1:143"]
node_tls = "starttls"
)"),
              ElementsAre("t.toml:9:12: \"node_tls\" applies only to pools of imap, pop3 and "
                          "smtp listeners: pool \"mail\" is used by the tcp listener \"raw\""));
}

TEST(NodeTlsConfig, NoneIsAllowedAnywhere) {
  Config c = load_ok(R"([[listener]]
name = "raw"
listen = "127.0.0.1:1143"
protocol = "tcp"
pool = "mail"

[pool.mail]
nodes = ["10.0.0.1:143"]
node_tls = "none"
)");
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].node_tls, routing::NodeTls::None);
}

}  // namespace
}  // namespace proxy::config
