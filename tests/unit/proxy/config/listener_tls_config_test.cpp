// A TLS listener's tls_records, ktls and http2 keys in the config file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "proxy/config/config_loader.h"
#include "tests/unit/proxy/config/load_text.h"

namespace proxy::config {
namespace {

using ::testing::ElementsAre;

// A certificate and one listener (line 5 on) with `keys` after its address.
std::string with_listener(const std::string& keys) {
  return "[[certificate]]\ncert = \"/etc/c.pem\"\nkey = \"/etc/k.pem\"\n\n"
         "[[listener]]\nlisten = \"127.0.0.1:443\"\n" +
         keys;
}

TEST(ListenerTlsConfig, OpenSslKeepsTheRecordsByDefault) {
  Config c = load_ok(with_listener("tls = true\n"));
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].tls_options.records, tls::Records::openssl);
  EXPECT_FALSE(c.listeners[0].tls_options.ktls);
}

TEST(ListenerTlsConfig, RecordsAndKtlsAreRead) {
  EXPECT_EQ(load_ok(with_listener("tls = true\ntls_records = \"passeur\"\n"))
                .listeners[0]
                .tls_options.records,
            tls::Records::passeur);
  Config c = load_ok(with_listener("tls = true\ntls_records = \"openssl\"\nktls = true\n"));
  EXPECT_EQ(c.listeners[0].tls_options.records, tls::Records::openssl);
  EXPECT_TRUE(c.listeners[0].tls_options.ktls);
  EXPECT_TRUE(load_ok(with_listener("tls = true\nktls = true\n")).listeners[0].tls_options.ktls);
}

TEST(ListenerTlsConfig, BadValuesNameTheKey) {
  EXPECT_THAT(errors_of(with_listener("tls = true\ntls_records = \"kernel\"\n")),
              ElementsAre("t.toml:8:15: unknown tls_records \"kernel\" (expected \"openssl\" or "
                          "\"passeur\")"));
  EXPECT_THAT(errors_of(with_listener("tls = true\ntls_records = 1\n")),
              ElementsAre(::testing::HasSubstr("t.toml:8:15: \"tls_records\"")));
  EXPECT_THAT(errors_of(with_listener("tls = true\nktls = \"yes\"\n")),
              ElementsAre(::testing::HasSubstr("t.toml:8:8: \"ktls\"")));
}

TEST(ListenerTlsConfig, KtlsNeedsOpenSslsRecordLayer) {
  EXPECT_THAT(errors_of(with_listener("tls = true\ntls_records = \"passeur\"\nktls = true\n")),
              ElementsAre("t.toml:9:8: \"ktls = true\" needs OpenSSL's record layer: it cannot "
                          "be used with tls_records = \"passeur\""));
}

TEST(ListenerTlsConfig, KeysApplyOnlyToTlsListeners) {
  EXPECT_THAT(errors_of(with_listener("tls_records = \"openssl\"\nktls = false\n")),
              ElementsAre("t.toml:7:15: \"tls_records\" applies only to a listener with tls = true",
                          "t.toml:8:8: \"ktls\" applies only to a listener with tls = true"));
}

TEST(ListenerTlsConfig, TlsListenersOfferHttp2ByDefault) {
  Config c = load_ok(with_listener("tls = true\n"));
  EXPECT_EQ(c.listeners[0].http2, Http2::On);
  EXPECT_TRUE(c.listeners[0].tls_options.http2);
  c = load_ok(with_listener("tls = true\nhttp2 = false\n"));
  EXPECT_EQ(c.listeners[0].http2, Http2::Off);
  EXPECT_FALSE(c.listeners[0].tls_options.http2);
}

TEST(ListenerTlsConfig, PlainListenersTakeHttp2OnlyWithPriorKnowledge) {
  EXPECT_EQ(load_ok(with_listener("")).listeners[0].http2, Http2::Off);
  EXPECT_EQ(load_ok(with_listener("http2 = \"prior-knowledge\"\n")).listeners[0].http2,
            Http2::PriorKnowledge);
  EXPECT_THAT(errors_of(with_listener("http2 = true\n")),
              ElementsAre(::testing::HasSubstr("t.toml:7:9: \"http2 = true\" needs tls = true")));
}

}  // namespace
}  // namespace proxy::config
