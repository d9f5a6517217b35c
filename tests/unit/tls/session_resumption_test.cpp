#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "tests/unit/tls/in_memory_handshake.h"
#include "tests/unit/tls/test_pki.h"
#include "tls/cert_store.h"
#include "tls/server_tls.h"
#include "tls/ticket_keys.h"

namespace tls {
namespace {

using testing::ClientOptions;
using testing::handshake;
using testing::test_certificates;

struct SessionFree {
  void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

class SessionResumptionTest : public ::testing::TestWithParam<int> {
 protected:
  SessionResumptionTest() : server([this] { return now; }) {
    const auto& certs = test_certificates();
    auto result = CertStore::load({certs.webmail_ec, certs.cloud});
    EXPECT_TRUE(result.errors.empty());
    server.set_store(result.store, "");
  }

  ClientOptions client(SSL_SESSION* session = nullptr) const {
    return {.server_name = "webmail.example.coop",
            .min_version = GetParam(),
            .max_version = GetParam(),
            .session = session};
  }

  // A session from a full handshake, to resume later.
  SessionPtr first_session() {
    auto hs = handshake(server, client());
    EXPECT_TRUE(hs.ok) << hs.client_error << hs.server_error;
    EXPECT_FALSE(hs.reused());
    SessionPtr session(hs.session());
    EXPECT_TRUE(session && SSL_SESSION_is_resumable(session.get()));
    EXPECT_TRUE(session && SSL_SESSION_has_ticket(session.get()));
    return session;
  }

  int64_t now = 1'700'000'000;
  ServerTls server;
};

TEST_P(SessionResumptionTest, SecondHandshakeResumesWithATicket) {
  SessionPtr session = first_session();
  auto second = handshake(server, client(session.get()));
  ASSERT_TRUE(second.ok) << second.server_error;
  EXPECT_TRUE(second.reused());
  EXPECT_TRUE(SSL_session_reused(second.server.get()));
  EXPECT_EQ(second.peer_cn(), "webmail-ec");
}

TEST_P(SessionResumptionTest, TicketFromThePreviousKeyStillResumes) {
  SessionPtr session = first_session();
  now += TicketKeys::kRotationSeconds;
  auto resumed = handshake(server, client(session.get()));
  ASSERT_TRUE(resumed.ok);
  EXPECT_TRUE(resumed.reused());
  EXPECT_EQ(server.ticket_keys().rotations(), 1u);
}

TEST_P(SessionResumptionTest, TicketTwoRotationsOldIsRefused) {
  SessionPtr session = first_session();
  now += TicketKeys::kRotationSeconds;
  EXPECT_TRUE(handshake(server, client(session.get())).reused());
  now += TicketKeys::kRotationSeconds;
  auto refused = handshake(server, client(session.get()));
  ASSERT_TRUE(refused.ok) << "a dead ticket means a full handshake, not a failure";
  EXPECT_FALSE(refused.reused());
  EXPECT_EQ(server.ticket_keys().rotations(), 2u);
}

TEST_P(SessionResumptionTest, ResumesAfterReload) {
  SessionPtr session = first_session();
  auto result = CertStore::load({test_certificates().webmail_ec});
  server.set_store(result.store, "");
  EXPECT_TRUE(handshake(server, client(session.get())).reused());
}

// Clients use a TLS 1.3 ticket once (RFC 8446 C.4; browsers do): every resumption must hand
// out a fresh ticket, or every other connection of such a client would be a full handshake.
TEST(Tls13TicketRenewalTest, EachResumptionIssuesTheNextTicket) {
  ServerTls server;
  server.set_store(CertStore::load({test_certificates().webmail_ec}).store, "");
  ClientOptions options{.server_name = "webmail.example.coop", .min_version = TLS1_3_VERSION};
  auto first = handshake(server, options);
  ASSERT_TRUE(first.ok);
  SessionPtr session(first.session());
  for (int i = 0; i < 3; ++i) {
    options.session = session.get();
    auto next = handshake(server, options);
    ASSERT_TRUE(next.ok) << next.server_error;
    EXPECT_TRUE(next.reused()) << "resumption " << i;
    SessionPtr renewed(next.session());
    ASSERT_TRUE(renewed);
    EXPECT_NE(renewed.get(), session.get()) << "no new ticket after resumption " << i;
    EXPECT_TRUE(SSL_SESSION_has_ticket(renewed.get()));
    session = std::move(renewed);
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, SessionResumptionTest,
                         ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION), [](const auto& info) {
                           return info.param == TLS1_2_VERSION ? std::string("Tls12")
                                                               : std::string("Tls13");
                         });

TEST(SessionCacheTest, ClientsWithoutTicketsResumeFromTheServerCache) {
  ServerTls server;
  server.set_store(CertStore::load({test_certificates().webmail_ec}).store, "");
  ClientOptions options{
      .server_name = "webmail.example.coop", .max_version = TLS1_2_VERSION, .no_ticket = true};
  auto first = handshake(server, options);
  ASSERT_TRUE(first.ok);
  SessionPtr session(first.session());
  EXPECT_FALSE(SSL_SESSION_has_ticket(session.get()));
  options.session = session.get();
  auto second = handshake(server, options);
  EXPECT_TRUE(second.reused());
  EXPECT_EQ(SSL_CTX_sess_hits(server.base()), 1);
  EXPECT_EQ(SSL_CTX_sess_number(server.base()), 1);
}

}  // namespace
}  // namespace tls
