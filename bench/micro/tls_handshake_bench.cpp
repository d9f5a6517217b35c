// TLS handshakes against a listener's ServerTls, in memory (a BIO pair, no sockets): what the
// server side of one handshake costs in CPU, without the kernel and the event loop around it.
// Each iteration is one connection as the proxy serves it: new_ssl(), the handshake (SNI
// switch, ticket callbacks), the client reading the NewSessionTicket, SSL_free. The client is
// an OpenSSL client in the same thread; only the server's calls are timed (server_us, thread
// CPU time), so that A/B comparisons of the server code are not diluted by the client. On a
// busy machine CPU time varies by tens of percent; instruction counts do not:
//   valgrind --tool=callgrind --toggle-collect='*server_call*' build/passeur_micro_bench
//     --benchmark_filter=Resumed --benchmark_min_time=0.2
// (one command line) and divide the collected instructions by the iterations printed.
#include <benchmark/benchmark.h>
#include <openssl/ssl.h>

#include <ctime>
#include <memory>

#include "tests/unit/tls/test_pki.h"
#include "tls/cert_store.h"
#include "tls/server_tls.h"
#include "tls/ssl_handles.h"

namespace {

using tls::SslCtxPtr;
using tls::SslPtr;

struct SessionFree {
  void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

// The server's calls, each in a function of its own: `valgrind --tool=callgrind
// --toggle-collect='*server_call*'` counts the server's instructions only.
[[gnu::noinline]] SSL* server_call_new(const tls::ServerTls& server) {
  return server.new_ssl();
}
[[gnu::noinline]] int server_call_handshake(SSL* ssl) {
  return SSL_do_handshake(ssl);
}
[[gnu::noinline]] void server_call_free(SslPtr& ssl) {
  ssl.reset();
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Bench {
  Bench() : client_ctx(SSL_CTX_new(TLS_client_method())) {
    const auto& certs = tls::testing::test_certificates();
    auto result = tls::CertStore::load({certs.webmail_ec, certs.cloud});
    server.set_store(result.store, "");
    SSL_CTX_set_min_proto_version(client_ctx.get(), TLS1_3_VERSION);
    SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_NONE, nullptr);
  }

  // One connection; `server_seconds` accumulates the server's CPU time. Returns the client's
  // session after the connection (the newest ticket), or null when the handshake failed.
  SessionPtr connect(SSL_SESSION* session, double& server_seconds, bool& reused) {
    SslPtr client(SSL_new(client_ctx.get()));
    SSL_set_connect_state(client.get());
    SSL_set_tlsext_host_name(client.get(), "webmail.example.coop");
    if (session != nullptr) SSL_set_session(client.get(), session);
    double t0 = thread_cpu_seconds();
    SslPtr srv(server_call_new(server));
    server_seconds += thread_cpu_seconds() - t0;
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
    SSL_set_bio(client.get(), client_bio, client_bio);
    SSL_set_bio(srv.get(), server_bio, server_bio);
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 10 && !(client_done && server_done); ++round) {
      if (!client_done) {
        int r = SSL_do_handshake(client.get());
        if (r == 1) client_done = true;
        if (r <= 0 && SSL_get_error(client.get(), r) != SSL_ERROR_WANT_READ) return nullptr;
      }
      if (!server_done) {
        t0 = thread_cpu_seconds();
        int r = server_call_handshake(srv.get());
        server_seconds += thread_cpu_seconds() - t0;
        if (r == 1) server_done = true;
        if (r <= 0 && SSL_get_error(srv.get(), r) != SSL_ERROR_WANT_READ) return nullptr;
      }
    }
    if (!client_done || !server_done) return nullptr;
    char byte;
    SSL_read(client.get(), &byte, 1);  // takes the NewSessionTicket, if any
    reused = SSL_session_reused(client.get()) == 1;
    SessionPtr out(SSL_get1_session(client.get()));
    for (SSL* ssl : {client.get(), srv.get()}) {
      SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    }
    client.reset();
    t0 = thread_cpu_seconds();
    server_call_free(srv);
    server_seconds += thread_cpu_seconds() - t0;
    return out;
  }

  tls::ServerTls server;
  SslCtxPtr client_ctx;
};

// Every connection resumes the session the previous one ended with, as a browser does (a
// TLS 1.3 ticket is used once).
void BM_ResumedTls13Handshake(benchmark::State& state) {
  Bench bench;
  double server_seconds = 0;
  bool reused = false;
  SessionPtr session = bench.connect(nullptr, server_seconds, reused);
  server_seconds = 0;
  int64_t resumed = 0;
  for (auto _ : state) {
    SessionPtr next = bench.connect(session.get(), server_seconds, reused);
    if (!next) {
      state.SkipWithError("handshake failed");
      return;
    }
    resumed += reused;
    session = std::move(next);
  }
  state.counters["server_us"] =
      benchmark::Counter(server_seconds * 1e6 / static_cast<double>(state.iterations()));
  state.counters["resumed"] =
      benchmark::Counter(static_cast<double>(resumed) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_ResumedTls13Handshake);

void BM_FullTls13Handshake(benchmark::State& state) {
  Bench bench;
  double server_seconds = 0;
  bool reused = false;
  for (auto _ : state) {
    if (!bench.connect(nullptr, server_seconds, reused)) {
      state.SkipWithError("handshake failed");
      return;
    }
  }
  state.counters["server_us"] =
      benchmark::Counter(server_seconds * 1e6 / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_FullTls13Handshake);

}  // namespace
