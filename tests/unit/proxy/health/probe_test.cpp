#include "proxy/health/probe.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/config/address.h"
#include "tests/unit/tls/test_pki.h"
#include "tls/tls_stream.h"

namespace proxy::health {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using routing::CheckSettings;
using routing::CheckType;
using std::chrono::milliseconds;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// One step of a scripted server: when what it has received contains `after` (at once when
// empty), it sends `reply`.
struct Step {
  std::string after;
  std::string reply;
};

// A server on 127.0.0.1 that plays the same script on every connection, then closes (or keeps
// the connection open without a word when `hang`). What it receives is kept in `received`.
struct ScriptServer {
  std::vector<Step> steps;
  bool hang = false;
  SSL_CTX* tls = nullptr;  // speak TLS (handshake first) when set
  std::vector<std::string> received;

  template <class Stream>
  awaitable<void> play(Stream& stream, size_t me) {
    std::string in;
    size_t from = 0;
    char buf[4096];
    for (const Step& step : steps) {
      while (step.after.size() && in.find(step.after, from) == std::string::npos) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), use_tuple);
        if (ec) co_return;
        in.append(buf, n);
        received[me] = in;
      }
      if (step.after.size()) from = in.find(step.after, from) + step.after.size();
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(step.reply), use_tuple);
      if (ec) co_return;
    }
    if (hang) {
      for (;;) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), use_tuple);
        if (ec) co_return;
        in.append(buf, n);
        received[me] = in;
      }
    }
  }

  awaitable<void> serve(tcp::socket socket) {
    const size_t me = received.size();
    received.emplace_back();
    if (!tls) {
      co_await play(socket, me);
      co_return;
    }
    tls::Stream stream(std::move(socket), SSL_new(tls));
    auto [ec] = co_await stream.async_handshake(use_tuple);
    if (!ec) co_await play(stream, me);
  }

  awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec) co_return;
      co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
    }
  }
};

class ProbeTest : public ::testing::Test {
 protected:
  // Starts `server` on a free port; returns "127.0.0.1:PORT".
  std::string start(ScriptServer& server) {
    acceptors_.push_back(std::make_unique<tcp::acceptor>(
        ctx_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)));
    tcp::acceptor& a = *acceptors_.back();
    co_spawn(ctx_, server.accept_loop(a), asio::detached);
    return "127.0.0.1:" + std::to_string(a.local_endpoint().port());
  }

  // A port nothing listens on.
  std::string refused() {
    tcp::acceptor a(ctx_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return "127.0.0.1:" + std::to_string(a.local_endpoint().port());
  }

  ProbeResult probe(const CheckSettings& check, const std::string& address,
                    milliseconds timeout = milliseconds(2'000),
                    const tls::ClientTls* tls = nullptr) {
    // Addresses are resolved when a snapshot is built; here, by hand.
    routing::NodeSettings ns{.name = "n", .address = address};
    config::resolve_node(ns);
    routing::Node node(ns);
    CheckSettings resolved = check;
    config::resolve_check(resolved);
    std::optional<ProbeResult> out;
    co_spawn(ctx_, run_probe(resolved, node, timeout, tls),
             [&](std::exception_ptr e, ProbeResult r) {
               if (e) std::rethrow_exception(e);
               out = std::move(r);
               ctx_.stop();
             });
    ctx_.restart();
    ctx_.run();
    EXPECT_TRUE(out.has_value());
    return out.value_or(ProbeResult{false, "never finished"});
  }

  static CheckSettings http(std::string path = "/", std::string expect_body = "") {
    CheckSettings c;
    c.type = CheckType::Http;
    c.path = std::move(path);
    c.expect_body = std::move(expect_body);
    return c;
  }
  static CheckSettings of_type(CheckType type) {
    CheckSettings c;
    c.type = type;
    return c;
  }

  asio::io_context ctx_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
};

constexpr const char* kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// ---- http -----------------------------------------------------------------------------------

TEST_F(ProbeTest, HttpStatusInRange) {
  ScriptServer s{{{"\r\n\r\n", kOk}}};
  auto r = probe(http("/status.php"), start(s));
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.detail, "HTTP 200");
  ASSERT_EQ(s.received.size(), 1u);
  const std::string& req = s.received[0];
  EXPECT_TRUE(req.starts_with("GET /status.php HTTP/1.1\r\n")) << req;
  EXPECT_NE(req.find("\r\nHost: " + std::string("127.0.0.1:")), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nConnection: close\r\n"), std::string::npos) << req;
}

TEST_F(ProbeTest, HttpStatusOutOfRange) {
  ScriptServer s{{{"\r\n\r\n", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"}}};
  auto r = probe(http(), start(s));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "HTTP 503");
}

TEST_F(ProbeTest, HttpCustomRangeMethodAndHost) {
  ScriptServer s{{{"\r\n\r\n", "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n"}}};
  CheckSettings c = http("/login");
  c.status_min = 200;
  c.status_max = 299;
  c.method = "HEAD";
  c.host = "cloud.example.coop";
  auto r = probe(c, start(s));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "HTTP 302");
  EXPECT_TRUE(s.received[0].starts_with("HEAD /login HTTP/1.1\r\nHost: cloud.example.coop\r\n"))
      << s.received[0];
}

TEST_F(ProbeTest, HttpInterimAnswersAreSkipped) {
  ScriptServer s{{{"\r\n\r\n", std::string("HTTP/1.1 100 Continue\r\n\r\n") + kOk}}};
  auto r = probe(http(), start(s));
  EXPECT_TRUE(r.ok) << r.detail;
}

TEST_F(ProbeTest, HttpBodyWithContentLength) {
  const std::string body = R"({"installed":true,"maintenance":false,"version":"27.1"})";
  ScriptServer s{{{"\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                                   "\r\n\r\n" + body}}};
  std::string addr = start(s);
  auto r = probe(http("/status.php", "\"maintenance\":false"), addr);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.detail, "HTTP 200, body matched");
  r = probe(http("/status.php", "\"maintenance\":true"), addr);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "HTTP 200, body without \"\"maintenance\":true\"");
}

TEST_F(ProbeTest, HttpChunkedBody) {
  ScriptServer s{{{"\r\n\r\n",
                   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"}}};
  std::string addr = start(s);
  EXPECT_TRUE(probe(http("/", "lo, wor"), addr).ok) << "a match across chunks";
  EXPECT_FALSE(probe(http("/", "planet"), addr).ok);
}

TEST_F(ProbeTest, HttpBodyUntilClose) {
  ScriptServer s{{{"\r\n\r\n", "HTTP/1.0 200 OK\r\n\r\nstatus: fine\n"}}};
  std::string addr = start(s);
  EXPECT_TRUE(probe(http("/", "fine"), addr).ok);
  auto r = probe(http("/", "broken"), addr);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "HTTP 200, body without \"broken\"");
}

TEST_F(ProbeTest, HttpBodyReadOnlyUpTo64KiB) {
  const std::string body = std::string(70 * 1024, 'x') + "needle";
  ScriptServer s{{{"\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                                   "\r\n\r\n" + body}}};
  auto r = probe(http("/", "needle"), start(s));
  EXPECT_FALSE(r.ok) << "the needle lies beyond the first 64 KiB";
}

TEST_F(ProbeTest, HttpMalformedResponse) {
  ScriptServer s{{{"\r\n\r\n", "SMTP/1.0 hello\r\n\r\n"}}};
  auto r = probe(http(), start(s));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.detail.starts_with("malformed HTTP response")) << r.detail;
}

TEST_F(ProbeTest, HttpCloseWithoutAnswer) {
  ScriptServer s{{{"\r\n\r\n", ""}}};
  auto r = probe(http(), start(s));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "connection closed while waiting for the response");
}

TEST_F(ProbeTest, HttpNoAnswerTimesOut) {
  ScriptServer s{{}, /*hang=*/true};
  const auto t0 = std::chrono::steady_clock::now();
  auto r = probe(http(), start(s), milliseconds(200));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "timeout while waiting for the response");
  EXPECT_GE(took, milliseconds(190));
  EXPECT_LT(took, milliseconds(2'000));
}

TEST_F(ProbeTest, TheTimeoutBoundsTheWholeProbe) {
  // Part of a head, then silence: the probe gives up at its deadline all the same.
  ScriptServer s{{{"\r\n\r\n", "HTTP/1.1 200 OK\r\n"}}, /*hang=*/true};
  auto r = probe(http(), start(s), milliseconds(200));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "timeout while waiting for the response");
}

// ---- connect, tcp ---------------------------------------------------------------------------

TEST_F(ProbeTest, ConnectionRefused) {
  auto r = probe(http(), refused());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "connection refused");
  r = probe(of_type(CheckType::Tcp), refused());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "connection refused");
}

TEST_F(ProbeTest, TcpConnect) {
  ScriptServer s{{}, /*hang=*/true};
  auto r = probe(of_type(CheckType::Tcp), start(s));
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.detail, "connected");
}

TEST_F(ProbeTest, CheckPortAndAddressReplaceTheNodes) {
  ScriptServer s{{}, /*hang=*/true};
  const std::string addr = start(s);
  const auto port = static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
  CheckSettings c = of_type(CheckType::Tcp);
  c.port = port;
  EXPECT_TRUE(probe(c, refused()).ok) << "probes the check's port at the node's address";
  c.port = 0;
  c.address = addr;
  EXPECT_TRUE(probe(c, refused()).ok) << "probes the check's address";

  routing::NodeSettings ns{.name = "n", .address = "[::1]:8080"};
  config::resolve_node(ns);
  routing::Node node(ns);
  c.address.clear();
  c.port = 9000;
  auto ep = probe_endpoint(c, node);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->address().to_string(), "::1");
  EXPECT_EQ(ep->port(), 9000);
}

// ---- mail -----------------------------------------------------------------------------------

TEST_F(ProbeTest, ImapGreetingAndLogout) {
  ScriptServer s{{{"", "* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n"},
                  {"a1 LOGOUT\r\n", "* BYE Logging out\r\na1 OK Logout completed.\r\n"}}};
  auto r = probe(of_type(CheckType::Imap), start(s));
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(s.received[0], "a1 LOGOUT\r\n");
}

TEST_F(ProbeTest, ImapWithoutOkGreeting) {
  ScriptServer s{{{"", "* BYE Too many connections\r\n"}}};
  auto r = probe(of_type(CheckType::Imap), start(s));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "no * OK greeting: * BYE Too many connections");
}

TEST_F(ProbeTest, SilentMailServerTimesOut) {
  ScriptServer s{{}, /*hang=*/true};
  auto r = probe(of_type(CheckType::Imap), start(s), milliseconds(150));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "timeout while waiting for the greeting");
}

TEST_F(ProbeTest, Pop3GreetingAndQuit) {
  ScriptServer s{{{"", "+OK Dovecot ready.\r\n"}, {"QUIT\r\n", "+OK Logging out.\r\n"}}};
  std::string addr = start(s);
  auto r = probe(of_type(CheckType::Pop3), addr);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(s.received[0], "QUIT\r\n");

  ScriptServer bad{{{"", "-ERR go away\r\n"}}};
  r = probe(of_type(CheckType::Pop3), start(bad));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "no +OK greeting: -ERR go away");
}

TEST_F(ProbeTest, SmtpMultiLineGreetingAndEhlo) {
  ScriptServer s{{{"", "220-mx.example.coop ESMTP\r\n220 Postfix\r\n"},
                  {"EHLO passeur\r\n", "250-mx.example.coop\r\n250-PIPELINING\r\n250 8BITMIME\r\n"},
                  {"QUIT\r\n", "221 2.0.0 Bye\r\n"}}};
  auto r = probe(of_type(CheckType::Smtp), start(s));
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(s.received[0], "EHLO passeur\r\nQUIT\r\n");
}

TEST_F(ProbeTest, SmtpRejections) {
  ScriptServer greeting{{{"", "554 5.7.1 No service\r\n"}}};
  auto r = probe(of_type(CheckType::Smtp), start(greeting));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "no 220 greeting: 554 5.7.1 No service");

  ScriptServer ehlo{{{"", "220 ready\r\n"}, {"EHLO passeur\r\n", "421 4.3.2 Shutting down\r\n"}}};
  r = probe(of_type(CheckType::Smtp), start(ehlo));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "EHLO answered: 421 4.3.2 Shutting down");

  ScriptServer garbage{{{"", "hello there\r\n"}}};
  r = probe(of_type(CheckType::Smtp), start(garbage));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "no 220 greeting: hello there");
}

// ---- tls ------------------------------------------------------------------------------------

class TlsProbeTest : public ProbeTest {
 protected:
  void SetUp() override {
    const auto& cert = tls::testing::test_certificates().webmail_rsa;  // IP:127.0.0.1
    server_ctx_ = SSL_CTX_new(TLS_server_method());
    ASSERT_EQ(SSL_CTX_use_certificate_chain_file(server_ctx_, cert.cert.c_str()), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey_file(server_ctx_, cert.key.c_str(), SSL_FILETYPE_PEM), 1);
  }
  void TearDown() override { SSL_CTX_free(server_ctx_); }

  tls::ClientTls client(bool verify, const std::string& ca = "") {
    std::string error;
    auto c = tls::ClientTls::make(verify, ca, error);
    EXPECT_TRUE(c) << error;
    return c;
  }

  SSL_CTX* server_ctx_ = nullptr;
};

TEST_F(TlsProbeTest, HandshakeWithoutVerification) {
  ScriptServer s{{}, /*hang=*/true, server_ctx_};
  auto c = client(false);
  auto r = probe(of_type(CheckType::Tls), start(s), milliseconds(2'000), &c);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.detail, "TLS handshake done");
}

TEST_F(TlsProbeTest, VerifiedAgainstTheCa) {
  ScriptServer s{{}, /*hang=*/true, server_ctx_};
  std::string addr = start(s);
  auto good = client(true, tls::testing::test_certificates().pki.ca_path());
  EXPECT_TRUE(probe(of_type(CheckType::Tls), addr, milliseconds(2'000), &good).ok);
  auto system_store = client(true);
  auto r = probe(of_type(CheckType::Tls), addr, milliseconds(2'000), &system_store);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.detail.starts_with("TLS error in the TLS handshake")) << r.detail;
}

TEST_F(TlsProbeTest, PlainServerFailsTheHandshake) {
  ScriptServer s{{{"", "* OK plain IMAP\r\n"}}, /*hang=*/true};
  auto c = client(false);
  auto r = probe(of_type(CheckType::Tls), start(s), milliseconds(1'000), &c);
  EXPECT_FALSE(r.ok);
}

TEST_F(TlsProbeTest, SilentServerTimesOutInTheHandshake) {
  ScriptServer s{{}, /*hang=*/true};  // plain TCP, never answers the ClientHello
  auto c = client(false);
  auto r = probe(of_type(CheckType::Tls), start(s), milliseconds(200), &c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "timeout in the TLS handshake");
}

TEST_F(TlsProbeTest, HttpOverTls) {
  ScriptServer s{{{"\r\n\r\n", kOk}}, false, server_ctx_};
  auto c = client(false);
  auto r = probe(http(), start(s), milliseconds(2'000), &c);
  EXPECT_TRUE(r.ok) << r.detail;
}

TEST_F(TlsProbeTest, ImapOverTls) {
  ScriptServer s{
      {{"", "* OK IMAPS ready\r\n"}, {"a1 LOGOUT\r\n", "a1 OK bye\r\n"}}, false, server_ctx_};
  auto c = client(false);
  auto r = probe(of_type(CheckType::Imap), start(s), milliseconds(2'000), &c);
  EXPECT_TRUE(r.ok) << r.detail;
}

}  // namespace
}  // namespace proxy::health
