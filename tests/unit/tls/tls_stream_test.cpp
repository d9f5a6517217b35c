#include "tls/tls_stream.h"

#include "tests/unit/tls/stream_harness.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace tls::testing;
using boost::system::error_code;

// ---- Bytes held by OpenSSL, counted per thread ------------------------------------------------

thread_local long long t_openssl_bytes = 0;

void* counted_malloc(size_t n, const char*, int) {
  void* p = std::malloc(n);
  if (p != nullptr) t_openssl_bytes += static_cast<long long>(malloc_usable_size(p));
  return p;
}

void counted_free(void* p, const char*, int) {
  if (p == nullptr) return;
  t_openssl_bytes -= static_cast<long long>(malloc_usable_size(p));
  std::free(p);
}

void* counted_realloc(void* p, size_t n, const char* file, int line) {
  if (p == nullptr) return counted_malloc(n, file, line);
  if (n == 0) {
    counted_free(p, file, line);
    return nullptr;
  }
  const auto old = static_cast<long long>(malloc_usable_size(p));
  void* q = std::realloc(p, n);
  if (q != nullptr) t_openssl_bytes += static_cast<long long>(malloc_usable_size(q)) - old;
  return q;
}

// Runs before main, hence before any OpenSSL allocation (OpenSSL refuses the hooks afterwards).
const bool g_counting_openssl = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return CRYPTO_set_mem_functions(counted_malloc, counted_realloc, counted_free) == 1;
}();

// ---- A self-signed identity and the contexts ---------------------------------------------------

// Whether the server streams of the running test use the record layer after the handshake
// (their context captures secrets) or OpenSSL throughout. Every test runs both ways.
bool g_records = false;

struct Contexts {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  SSL_CTX* server = nullptr;
  SSL_CTX* server_records = nullptr;
  SSL_CTX* client = nullptr;

  Contexts() {
    std::tie(key, cert) = tls::testing::localhost_identity();
    server = SSL_CTX_new(TLS_server_method());
    server_records = tls::new_capturing_server_context();
    for (SSL_CTX* ctx : {server, server_records}) {
      SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
      SSL_CTX_use_certificate(ctx, cert);
      SSL_CTX_use_PrivateKey(ctx, key);
      SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    }

    client = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(client, TLS1_2_VERSION);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client), cert);
    SSL_CTX_set_verify(client, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_mode(client, SSL_MODE_RELEASE_BUFFERS);
  }
  ~Contexts() {
    SSL_CTX_free(client);
    SSL_CTX_free(server_records);
    SSL_CTX_free(server);
    X509_free(cert);
    EVP_PKEY_free(key);
  }

  static Contexts& get() {
    static Contexts contexts;
    return contexts;
  }

  SSL* new_server() { return SSL_new(g_records ? server_records : server); }
  SSL* new_client() {
    SSL* ssl = SSL_new(client);
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    return ssl;
  }
};

// ---- Harness -----------------------------------------------------------------------------------

class TlsStream : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { g_records = GetParam(); }
  void TearDown() override { g_records = false; }
};

INSTANTIATE_TEST_SUITE_P(Records, TlsStream, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "RecordLayer" : "OpenSsl";
                         });

struct Pair {
  tls::Stream server;
  tls::Stream client;
};

Pair tls_pair(asio::io_context& io) {
  auto [server, client] = tcp_pair(io);
  return {tls::Stream(std::move(server), Contexts::get().new_server()),
          tls::Stream(std::move(client), Contexts::get().new_client())};
}

awaitable<void> handshake(Pair& p) {
  auto server = [&]() -> awaitable<void> {
    auto [ec] = co_await p.server.async_handshake(use_tuple);
    EXPECT_FALSE(ec) << "server: " << ec.message();
  };
  auto client = [&]() -> awaitable<void> {
    auto [ec] = co_await p.client.async_client_handshake(use_tuple);
    EXPECT_FALSE(ec) << "client: " << ec.message();
  };
  co_await (server() && client());
}

TEST_P(TlsStream, HandshakeAndSmallEchoBothWays) {
  asio::io_context io;
  Pair p = tls_pair(io);
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    EXPECT_EQ(p.server.version(), tls::TlsVersion::Tls13);
    EXPECT_EQ(p.server.offloaded(), GetParam());
    EXPECT_EQ(p.server.native_handle() == nullptr, GetParam());

    std::string back;
    co_await (echo(p.server, 5) &&
                  [&]() -> awaitable<void> { back = co_await round_trip(p.client, "hello"); }());
    EXPECT_EQ(back, "hello");

    co_await (echo(p.client, 6) &&
                  [&]() -> awaitable<void> { back = co_await round_trip(p.server, "world!"); }());
    EXPECT_EQ(back, "world!");
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

TEST_P(TlsStream, OneMebibyteEchoBothWays) {
  asio::io_context io;
  Pair p = tls_pair(io);
  const std::string up = random_bytes(1 << 20, 1);
  const std::string down = random_bytes(1 << 20, 2);
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    std::string back;
    co_await (echo(p.server, up.size()) &&
                  [&]() -> awaitable<void> { back = co_await round_trip(p.client, up); }());
    EXPECT_TRUE(back == up) << "client -> server -> client differs";

    co_await (echo(p.client, down.size()) &&
                  [&]() -> awaitable<void> { back = co_await round_trip(p.server, down); }());
    EXPECT_TRUE(back == down) << "server -> client -> server differs";
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

TEST_P(TlsStream, SmallBufferSequenceGoesOutAsOneRecord) {
  asio::io_context io;
  Pair p = tls_pair(io);
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    const std::array<asio::const_buffer, 4> parts = {asio::buffer("GET ", 4), asio::const_buffer(),
                                                     asio::buffer("/index.html", 11),
                                                     asio::buffer(" HTTP/1.1\r\n\r\n", 13)};
    auto [ec, n] = co_await p.client.async_write_some(parts, use_tuple);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(n, 28u);

    // One record: a single read returns all of it.
    std::array<char, 1024> buf;
    auto [rec, rn] = co_await p.server.async_read_some(asio::buffer(buf), use_tuple);
    EXPECT_FALSE(rec) << rec.message();
    EXPECT_EQ(std::string_view(buf.data(), rn), "GET /index.html HTTP/1.1\r\n\r\n");

    // Nothing to write: done at once, without error.
    auto [eec, en] = co_await p.client.async_write_some(asio::const_buffer(), use_tuple);
    EXPECT_FALSE(eec) << eec.message();
    EXPECT_EQ(en, 0u);
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

TEST_P(TlsStream, LargeBufferSequenceArrivesExactly) {
  asio::io_context io;
  Pair p = tls_pair(io);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 204800\r\n\r\n";
  const std::string body = random_bytes(200 * 1024, 3);
  const std::string tail = "0\r\n\r\n";
  const std::string all = head + body + tail;
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    const std::array<asio::const_buffer, 3> parts = {asio::buffer(head), asio::buffer(body),
                                                     asio::buffer(tail)};
    std::string got;
    auto reader = [&]() -> awaitable<void> {
      got = co_await read_exactly(p.client, 2 * all.size());
    };
    auto writer = [&]() -> awaitable<void> {
      // The head is topped up with body bytes to fill one record.
      auto [ec, n] = co_await p.server.async_write_some(parts, use_tuple);
      EXPECT_FALSE(ec) << ec.message();
      EXPECT_EQ(n, GetParam() ? tls::RecordLayer::kWriteLimit : tls::detail::kGatherLimit);
      auto [wec, wn] = co_await asio::async_write(
          p.server, asio::buffer(std::string_view(all).substr(n)), use_tuple);
      EXPECT_FALSE(wec) << wec.message();
      // And a whole sequence through asio::async_write.
      auto [sec, sn] = co_await asio::async_write(p.server, parts, use_tuple);
      EXPECT_FALSE(sec) << sec.message();
      EXPECT_EQ(sn, all.size());
    };
    co_await (writer() && reader());
    EXPECT_TRUE(got == all + all);
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

TEST_P(TlsStream, CloseNotifyGivesEof) {
  asio::io_context io;
  Pair p = tls_pair(io);
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    co_await write_all(p.client, "last words");
    auto [sec] = co_await p.client.async_shutdown(use_tuple);
    EXPECT_FALSE(sec) << sec.message();

    EXPECT_EQ(co_await read_exactly(p.server, 10), "last words");
    std::array<char, 64> buf;
    auto [ec, n] = co_await p.server.async_read_some(asio::buffer(buf), use_tuple);
    EXPECT_EQ(ec, asio::error::eof) << ec.message();
    EXPECT_EQ(n, 0u);
    auto [ec2, n2] = co_await p.server.async_read_some(asio::buffer(buf), use_tuple);
    EXPECT_EQ(ec2, asio::error::eof) << ec2.message();

    // The server answers with its own close_notify; the client sees eof too.
    auto [ssec] = co_await p.server.async_shutdown(use_tuple);
    EXPECT_FALSE(ssec) << ssec.message();
    auto [cec, cn] = co_await p.client.async_read_some(asio::buffer(buf), use_tuple);
    EXPECT_EQ(cec, asio::error::eof) << cec.message();
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

// The peer's TCP side ends after `end` runs; the server's pending read completes with `expected`.
void expect_read_ending(void (*end)(tcp::socket&), error_code expected) {
  asio::io_context io;
  Pair p = tls_pair(io);
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    std::array<char, 64> buf;
    auto reader = [&]() -> awaitable<void> {
      auto [ec, n] = co_await p.server.async_read_some(asio::buffer(buf), use_tuple);
      EXPECT_EQ(ec, expected) << ec.message();
      EXPECT_EQ(n, 0u);
    };
    auto closer = [&]() -> awaitable<void> {
      asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
      co_await t.async_wait(use_tuple);
      end(p.client.lowest_layer());
    };
    co_await (reader() && closer());
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

TEST_P(TlsStream, FinWithoutCloseNotifyGivesEof) {
  expect_read_ending([](tcp::socket& s) { s.shutdown(tcp::socket::shutdown_send); },
                     asio::error::eof);
}

TEST_P(TlsStream, ResetGivesConnectionReset) {
  expect_read_ending(
      [](tcp::socket& s) {
        s.set_option(asio::socket_base::linger(true, 0));
        s.close();
      },
      asio::error::connection_reset);
}

TEST_P(TlsStream, CancellingTheSocketAbortsAPendingReadAndTheStreamStaysUsable) {
  asio::io_context io;
  Pair p = tls_pair(io);
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    std::array<char, 64> buf;
    auto reader = [&]() -> awaitable<void> {
      auto [ec, n] = co_await p.server.async_read_some(asio::buffer(buf), use_tuple);
      EXPECT_EQ(ec, asio::error::operation_aborted) << ec.message();
      EXPECT_EQ(n, 0u);
    };
    auto canceller = [&]() -> awaitable<void> {
      asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
      co_await t.async_wait(use_tuple);
      boost::beast::get_lowest_layer(p.server).cancel();
    };
    co_await (reader() && canceller());

    co_await write_all(p.client, "still here");
    EXPECT_EQ(co_await read_exactly(p.server, 10), "still here");
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

TEST_P(TlsStream, TerminalCancellationAbortsAPendingRead) {
  asio::io_context io;
  Pair p = tls_pair(io);
  bool handshaken = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    handshaken = true;
  });
  run(io);
  ASSERT_TRUE(handshaken);
  io.restart();

  asio::cancellation_signal signal;
  std::array<char, 64> buf;
  error_code result;
  bool called = false;
  p.server.async_read_some(asio::buffer(buf),
                           asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, size_t) {
                             called = true;
                             result = ec;
                           }));
  EXPECT_FALSE(called) << "completed inside the initiation";
  asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });
  run(io);
  EXPECT_TRUE(called);
  EXPECT_EQ(result, asio::error::operation_aborted) << result.message();
}

TEST_P(TlsStream, ImmediateCompletionIsNotInline) {
  asio::io_context io;
  Pair p = tls_pair(io);
  bool handshaken = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    co_await write_all(p.client, "x");
    handshaken = true;
  });
  run(io);
  ASSERT_TRUE(handshaken);
  io.restart();

  // The write goes out at once, and "x" is waiting: both are known inside the initiation.
  bool wrote = false, read = false;
  p.server.async_write_some(asio::buffer("y", 1), [&](error_code ec, size_t n) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(n, 1u);
    wrote = true;
  });
  std::array<char, 8> buf;
  p.server.async_read_some(asio::buffer(buf), [&](error_code ec, size_t n) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(n, 1u);
    read = true;
  });
  EXPECT_FALSE(wrote);
  EXPECT_FALSE(read);
  run(io);
  EXPECT_TRUE(wrote);
  EXPECT_TRUE(read);
}

TEST_P(TlsStream, PlainHttpClientFailsTheHandshakeWithAReadableReason) {
  asio::io_context io;
  auto [server_socket, client] = tcp_pair(io);
  tls::Stream server(std::move(server_socket), Contexts::get().new_server());
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    std::string_view request = "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n";
    auto [wec, wn] = co_await asio::async_write(client, asio::buffer(request), use_tuple);
    EXPECT_FALSE(wec);
    auto [ec] = co_await server.async_handshake(use_tuple);
    EXPECT_TRUE(ec);
    EXPECT_EQ(&ec.category(), &asio::error::get_ssl_category()) << ec.message();
    const std::string reason = tls::last_error_reason(ec);
    EXPECT_TRUE(reason == "http request" || reason == "wrong version number") << reason;
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

TEST_P(TlsStream, GarbageFailsTheHandshakeWithAReadableReason) {
  asio::io_context io;
  auto [server_socket, client] = tcp_pair(io);
  tls::Stream server(std::move(server_socket), Contexts::get().new_server());
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    // A handshake record header announcing an unknown protocol version.
    const std::array<unsigned char, 16> bytes = {0x16, 0x7f, 0x7f, 0x00, 0x0b};
    auto [wec, wn] = co_await asio::async_write(client, asio::buffer(bytes), use_tuple);
    EXPECT_FALSE(wec);
    auto [ec] = co_await server.async_handshake(use_tuple);
    EXPECT_TRUE(ec);
    EXPECT_FALSE(tls::last_error_reason(ec).empty());
    EXPECT_NE(tls::last_error_reason(ec), "asio.ssl error");
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

TEST_P(TlsStream, ClientLeavingDuringTheHandshakeGivesEof) {
  asio::io_context io;
  auto [server_socket, client] = tcp_pair(io);
  tls::Stream server(std::move(server_socket), Contexts::get().new_server());
  client.close();
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    auto [ec] = co_await server.async_handshake(use_tuple);
    EXPECT_EQ(ec, asio::error::eof) << ec.message();
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

TEST_P(TlsStream, LastErrorReason) {
  EXPECT_EQ(tls::last_error_reason({}), "");
  EXPECT_EQ(tls::last_error_reason(asio::error::eof), error_code(asio::error::eof).message());
}

TEST_P(TlsStream, WorksWithAsioSslStreamAsTheClient) {
  asio::io_context io;
  auto [server_socket, client_socket] = tcp_pair(io);
  tls::Stream server(std::move(server_socket), Contexts::get().new_server());
  SSL_CTX_up_ref(Contexts::get().client);
  asio::ssl::context ctx(Contexts::get().client);
  asio::ssl::stream<tcp::socket> client(std::move(client_socket), ctx);
  SSL_set_tlsext_host_name(client.native_handle(), "localhost");
  SSL_set1_host(client.native_handle(), "localhost");
  const std::string payload = random_bytes(100 * 1000, 4);
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    auto [hs] = co_await server.async_handshake(use_tuple);
    EXPECT_FALSE(hs) << hs.message();
    co_await echo(server, payload.size());
    std::array<char, 16> buf;
    auto [ec, n] = co_await server.async_read_some(asio::buffer(buf), use_tuple);
    EXPECT_EQ(ec, asio::error::eof) << ec.message();
    auto [sec] = co_await server.async_shutdown(use_tuple);
    EXPECT_FALSE(sec) << sec.message();
  });
  spawn(io, [&]() -> awaitable<void> {
    auto [hs] = co_await client.async_handshake(asio::ssl::stream_base::client, use_tuple);
    EXPECT_FALSE(hs) << hs.message();
    std::string back(payload.size(), '\0');
    auto writer = [&]() -> awaitable<void> {
      auto [ec, n] = co_await asio::async_write(client, asio::buffer(payload), use_tuple);
      EXPECT_FALSE(ec) << ec.message();
    };
    auto reader = [&]() -> awaitable<void> {
      auto [ec, n] = co_await asio::async_read(client, asio::buffer(back), use_tuple);
      EXPECT_FALSE(ec) << ec.message();
    };
    co_await (writer() && reader());
    EXPECT_TRUE(back == payload);
    // Sends close_notify and waits for the server's.
    auto [sec] = co_await client.async_shutdown(use_tuple);
    EXPECT_FALSE(sec) << sec.message();
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

// ---- Reading without a buffer while waiting ---------------------------------------------------

// Reads with read_now, waiting with async_wait_readable while nothing is there, as a connection
// that holds no buffer while idle does. The error and the bytes read; `wakeups` counts the
// waits that ended with nothing to read.
awaitable<std::pair<error_code, size_t>> read_when_ready(tls::Stream& s, asio::mutable_buffer b,
                                                         int* empty_wakeups = nullptr) {
  bool woken = false;
  for (;;) {
    size_t n = 1;
    error_code ec = asio::error::fault;
    if (s.read_now(b, n, ec)) co_return std::pair{ec, n};
    EXPECT_EQ(n, 0u);
    EXPECT_FALSE(ec) << ec.message();
    if (woken && empty_wakeups != nullptr) ++*empty_wakeups;
    auto [wec] = co_await s.async_wait_readable(use_tuple);
    if (wec) co_return std::pair{wec, size_t{0}};
    woken = true;
  }
}

awaitable<std::string> read_string_when_ready(tls::Stream& s, size_t room) {
  std::string out(room, '\0');
  auto [ec, n] = co_await read_when_ready(s, asio::buffer(out));
  EXPECT_FALSE(ec) << ec.message();
  out.resize(n);
  co_return out;
}

// Waits until the socket's receive queue holds `size` bytes.
awaitable<void> until_available(tcp::socket& s, size_t size) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  for (int i = 0; i < 5000 && s.available() < size; ++i) {
    t.expires_after(1ms);
    co_await t.async_wait(use_tuple);
  }
  EXPECT_GE(s.available(), size);
}

// Runs the handshake and then `f` (a coroutine function taking the pair); fails if either does
// not finish.
template <class F>
void with_pair(F f) {
  asio::io_context io;
  Pair p = tls_pair(io);
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    co_await f(p);
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

TEST_P(TlsStream, ReadNowWithNothingThereReturnsFalse) {
  with_pair([](Pair& p) -> awaitable<void> {
    std::array<char, 64> buf;
    size_t n = 1;
    error_code ec = asio::error::fault;
    EXPECT_FALSE(p.server.read_now(asio::buffer(buf), n, ec));
    EXPECT_EQ(n, 0u);
    EXPECT_FALSE(ec) << ec.message();
    // The client's OpenSSL reads the server's session tickets, if they are in yet: no data.
    EXPECT_FALSE(p.client.read_now(asio::buffer(buf), n, ec));
    EXPECT_FALSE(ec) << ec.message();
    // An empty buffer: done at once, nothing read.
    EXPECT_TRUE(p.server.read_now(asio::mutable_buffer(), n, ec));
    EXPECT_EQ(n, 0u);
    EXPECT_FALSE(ec) << ec.message();
    co_return;
  });
}

TEST_P(TlsStream, WaitReadableCompletesWhenThePeerWrites) {
  with_pair([](Pair& p) -> awaitable<void> {
    std::array<char, 64> buf;
    size_t n = 0;
    error_code ec;
    EXPECT_FALSE(p.server.read_now(asio::buffer(buf), n, ec));
    bool woke = false;
    auto waiter = [&]() -> awaitable<void> {
      auto [wec] = co_await p.server.async_wait_readable(use_tuple);
      EXPECT_FALSE(wec) << wec.message();
      woke = true;
    };
    auto writer = [&]() -> awaitable<void> {
      asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
      co_await t.async_wait(use_tuple);
      EXPECT_FALSE(woke) << "woken before the peer wrote";
      co_await write_all(p.client, "hello");
    };
    co_await (waiter() && writer());
    EXPECT_TRUE(p.server.read_now(asio::buffer(buf), n, ec));
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(std::string_view(buf.data(), n), "hello");
    EXPECT_FALSE(p.server.read_now(asio::buffer(buf), n, ec));

    // The other way: the client's stream, always OpenSSL's.
    co_await write_all(p.server, "world");
    EXPECT_EQ(co_await read_string_when_ready(p.client, buf.size()), "world");
  });
}

// Lets the reactor deliver the socket's events for bytes already read, so that none of them
// can end a wait that follows.
awaitable<void> settle() {
  asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
  co_await t.async_wait(use_tuple);
}

// The peer's bytes are in the stream, none in the socket: a wait completes at once (posted).
void expect_wait_completes_without_socket(asio::io_context& io, tls::Stream& s) {
  EXPECT_EQ(s.lowest_layer().available(), 0u) << "the socket still holds bytes";
  EXPECT_TRUE(s.has_buffered_input());
  io.restart();
  bool woke = false;
  s.async_wait_readable([&](error_code ec) {
    EXPECT_FALSE(ec) << ec.message();
    woke = true;
  });
  EXPECT_FALSE(woke) << "completed inside the initiation";
  io.run_for(5s);
  EXPECT_TRUE(woke) << "waited for the socket";
}

TEST_P(TlsStream, DecryptedBytesNotReadYetAreAnnouncedAtOnce) {
  asio::io_context io;
  Pair p = tls_pair(io);
  bool ready = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    co_await write_all(p.client, "hello world");
    // One record, opened whole, read in part: the rest is plaintext held by the stream.
    EXPECT_EQ(co_await read_string_when_ready(p.server, 5), "hello");
    co_await settle();
    ready = true;
  });
  run(io);
  ASSERT_TRUE(ready);
  expect_wait_completes_without_socket(io, p.server);
  std::array<char, 64> buf;
  size_t n = 0;
  error_code ec;
  EXPECT_TRUE(p.server.read_now(asio::buffer(buf), n, ec));
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string_view(buf.data(), n), " world");
  EXPECT_FALSE(p.server.has_buffered_input());
  EXPECT_FALSE(p.server.read_now(asio::buffer(buf), n, ec));
}

TEST_P(TlsStream, RecordsReceivedAheadAreAnnouncedAtOnce) {
  asio::io_context io;
  Pair p = tls_pair(io);
  bool ready = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    EXPECT_EQ(p.server.version(), tls::TlsVersion::Tls13);
    // As Passeur's server contexts do: OpenSSL reads what the socket has, whole records ahead.
    if (SSL* ssl = p.server.native_handle()) SSL_set_read_ahead(ssl, 1);
    co_await write_all(p.client, "first");
    co_await write_all(p.client, "second");
    // Two TLS 1.3 records of 22 bytes of overhead each, both in the socket.
    co_await until_available(p.server.lowest_layer(), 5 + 6 + 2 * 22);
    // The read takes the records from the socket and the first one's plaintext.
    EXPECT_EQ(co_await read_string_when_ready(p.server, 5), "first");
    co_await settle();
    ready = true;
  });
  run(io);
  ASSERT_TRUE(ready);
  expect_wait_completes_without_socket(io, p.server);
  std::array<char, 64> buf;
  size_t n = 0;
  error_code ec;
  EXPECT_TRUE(p.server.read_now(asio::buffer(buf), n, ec));
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string_view(buf.data(), n), "second");
  EXPECT_FALSE(p.server.read_now(asio::buffer(buf), n, ec));
}

TEST_P(TlsStream, PartOfARecordWaitsForTheSocket) {
  asio::io_context io;
  Pair p = tls_pair(io);
  bool done = false;
  spawn(io, [&]() -> awaitable<void> {
    co_await handshake(p);
    if (SSL* ssl = p.server.native_handle()) SSL_set_read_ahead(ssl, 1);
    std::array<char, 64> buf;
    size_t n = 0;
    error_code ec;
    EXPECT_FALSE(p.server.read_now(asio::buffer(buf), n, ec));
    // A record sealed by the client's OpenSSL into memory, then sent by hand in two parts.
    auto* client = p.client.native_handle();
    BIO* mem = BIO_new(BIO_s_mem());
    BIO_up_ref(mem);
    BIO* socket_bio = SSL_get_wbio(client);
    BIO_up_ref(socket_bio);
    SSL_set0_wbio(client, mem);
    EXPECT_EQ(SSL_write(client, "split", 5), 5);
    char* sealed = nullptr;
    const long size = BIO_get_mem_data(mem, &sealed);
    const std::string record(sealed, static_cast<size_t>(size));
    SSL_set0_wbio(client, socket_bio);
    BIO_free(mem);
    auto& raw = p.client.lowest_layer();
    asio::write(raw, asio::buffer(record.data(), 8));
    co_await until_available(p.server.lowest_layer(), 8);

    // The first read takes the 8 bytes and finds nothing to return; the stream holds them, and
    // the next wait is for the socket, which gets the rest 20 ms later.
    int empty_wakeups = 0;
    auto reader = [&]() -> awaitable<void> {
      auto [rec, rn] = co_await read_when_ready(p.server, asio::buffer(buf), &empty_wakeups);
      EXPECT_FALSE(rec) << rec.message();
      EXPECT_EQ(std::string_view(buf.data(), rn), "split");
    };
    auto writer = [&]() -> awaitable<void> {
      asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
      co_await t.async_wait(use_tuple);
      asio::write(raw, asio::buffer(record.data() + 8, record.size() - 8));
    };
    co_await (reader() && writer());
    // At most one wake-up with nothing (an event for the first part): the part held by the
    // stream is not announced again and again.
    EXPECT_LE(empty_wakeups, 1);
    done = true;
  });
  run(io);
  EXPECT_TRUE(done);
}

TEST_P(TlsStream, KeyUpdateWakesTheWaitWithNothingToRead) {
  with_pair([](Pair& p) -> awaitable<void> {
    SSL* client = p.client.native_handle();
    EXPECT_EQ(SSL_key_update(client, SSL_KEY_UPDATE_REQUESTED), 1);
    EXPECT_EQ(SSL_do_handshake(client), 1);  // sends the KeyUpdate
    co_await until_available(p.server.lowest_layer(), 1);
    std::array<char, 64> buf;
    size_t n = 0;
    error_code ec;
    auto [wec] = co_await p.server.async_wait_readable(use_tuple);
    EXPECT_FALSE(wec) << wec.message();
    // The KeyUpdate is taken (and answered, at once or with the next write): no data.
    EXPECT_FALSE(p.server.read_now(asio::buffer(buf), n, ec));
    EXPECT_FALSE(ec) << ec.message();
    co_await write_all(p.client, "after");
    EXPECT_EQ(co_await read_string_when_ready(p.server, buf.size()), "after");
    // The server's records come under its new key, after its own KeyUpdate.
    co_await write_all(p.server, "reply");
    EXPECT_EQ(co_await read_string_when_ready(p.client, buf.size()), "reply");
  });
}

// The peer's TCP side ends after `end` runs; read_now, after the waits it needs, reports
// `expected`; once ended, a wait completes at once.
void expect_ready_read_ending(void (*end)(Pair&), error_code expected) {
  with_pair([&](Pair& p) -> awaitable<void> {
    std::array<char, 64> buf;
    auto reader = [&]() -> awaitable<void> {
      auto [ec, n] = co_await read_when_ready(p.server, asio::buffer(buf));
      EXPECT_EQ(ec, expected) << ec.message();
      EXPECT_EQ(n, 0u);
    };
    auto closer = [&]() -> awaitable<void> {
      asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
      co_await t.async_wait(use_tuple);
      end(p);
    };
    co_await (reader() && closer());
    auto [wec] = co_await p.server.async_wait_readable(use_tuple);
    EXPECT_FALSE(wec) << wec.message();
    size_t n = 0;
    error_code ec;
    EXPECT_TRUE(p.server.read_now(asio::buffer(buf), n, ec));
    EXPECT_TRUE(ec);
  });
}

TEST_P(TlsStream, ReadNowReportsCloseNotifyAsEof) {
  expect_ready_read_ending(
      [](Pair& p) {
        auto* client = p.client.native_handle();
        EXPECT_EQ(SSL_shutdown(client), 0);  // close_notify sent, the server's not awaited
      },
      asio::error::eof);
}

TEST_P(TlsStream, ReadNowReportsAFinAsEof) {
  expect_ready_read_ending(
      [](Pair& p) { p.client.lowest_layer().shutdown(tcp::socket::shutdown_send); },
      asio::error::eof);
}

TEST_P(TlsStream, ReadNowReportsAReset) {
  expect_ready_read_ending(
      [](Pair& p) {
        p.client.lowest_layer().set_option(asio::socket_base::linger(true, 0));
        p.client.lowest_layer().close();
      },
      asio::error::connection_reset);
}

TEST_P(TlsStream, ReadNowReportsABrokenRecord) {
  expect_ready_read_ending(
      [](Pair& p) {
        // An application data record whose tag cannot be right.
        const std::array<unsigned char, 32> record = {0x17, 0x03, 0x03, 0x00, 0x1b};
        asio::write(p.client.lowest_layer(), asio::buffer(record));
      },
      // OpenSSL's code for it, which the record layer gives too.
      error_code(
          static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC)),
          asio::error::get_ssl_category()));
}

TEST_P(TlsStream, CancellingTheSocketAbortsAWaitForReadability) {
  with_pair([](Pair& p) -> awaitable<void> {
    std::array<char, 64> buf;
    size_t n = 0;
    error_code ec;
    EXPECT_FALSE(p.server.read_now(asio::buffer(buf), n, ec));
    auto waiter = [&]() -> awaitable<void> {
      auto [wec] = co_await p.server.async_wait_readable(use_tuple);
      EXPECT_EQ(wec, asio::error::operation_aborted) << wec.message();
    };
    auto canceller = [&]() -> awaitable<void> {
      asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
      co_await t.async_wait(use_tuple);
      p.server.lowest_layer().cancel();
    };
    co_await (waiter() && canceller());
    // The stream stays usable.
    co_await write_all(p.client, "still here");
    EXPECT_EQ(co_await read_string_when_ready(p.server, buf.size()), "still here");
  });
}

// How an idle connection waits: a pending read with its buffer, or a wait for readability.
enum class Idle { pending_read, wait_readable };

// What OpenSSL holds for an established connection waiting for its next request. The client
// runs on its own thread, so this thread's count is the server side only.
long long idle_connection_bytes(bool release_buffers, Idle how = Idle::pending_read) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  std::promise<void> measured;
  std::shared_future<void> measured_done = measured.get_future().share();
  std::thread client([endpoint = acceptor.local_endpoint(), measured_done] {
    asio::io_context cio;
    tcp::socket socket(cio);
    socket.connect(endpoint);
    SSL* ssl = Contexts::get().new_client();
    SSL_set_fd(ssl, socket.native_handle());
    EXPECT_EQ(SSL_connect(ssl), 1);
    EXPECT_EQ(SSL_write(ssl, "ping", 4), 4);
    char buf[4];
    EXPECT_EQ(SSL_read(ssl, buf, 4), 4);
    measured_done.wait();
    SSL_shutdown(ssl);
    SSL_free(ssl);
  });

  tcp::socket socket = acceptor.accept();
  const long long before = t_openssl_bytes;
  tls::Stream server(std::move(socket), Contexts::get().new_server());
  if (!release_buffers) SSL_clear_mode(server.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  long long idle = -1;
  std::array<char, 512> buf;
  error_code final_ec;
  // Reads when the stream is readable, waits again when nothing was there.
  std::function<void(error_code)> on_readable = [&](error_code ec) {
    size_t n = 0;
    if (!ec && !server.read_now(asio::buffer(buf), n, ec)) {
      return server.async_wait_readable(on_readable);
    }
    final_ec = ec;
  };
  spawn(io, [&]() -> awaitable<void> {
    auto [hs] = co_await server.async_handshake(use_tuple);
    EXPECT_FALSE(hs) << hs.message();
    EXPECT_EQ(co_await read_exactly(server, 4), "ping");
    co_await write_all(server, "pong");
    // Waiting for the next request, as a keep-alive connection does.
    if (how == Idle::pending_read) {
      server.async_read_some(asio::buffer(buf), [&](error_code ec, size_t) { final_ec = ec; });
    } else {
      on_readable({});
    }
    idle = t_openssl_bytes - before;
    measured.set_value();
  });
  run(io);
  client.join();
  EXPECT_EQ(final_ec, asio::error::eof) << final_ec.message();
  return idle;
}

TEST_P(TlsStream, IdleConnectionHoldsNoRecordBuffers) {
  if (!g_counting_openssl) GTEST_SKIP() << "OpenSSL allocated before the counting hooks were set";
  idle_connection_bytes(true);  // warms up OpenSSL's lazily built per-thread and global state
  const long long released = idle_connection_bytes(true);
  const long long kept = idle_connection_bytes(false);
  RecordProperty("idle_bytes", std::to_string(released));
  RecordProperty("idle_bytes_without_release_buffers", std::to_string(kept));
  std::printf(
      "OpenSSL bytes for an idle TLS 1.3 connection: %lld (%lld without "
      "SSL_MODE_RELEASE_BUFFERS)\n",
      released, kept);
  EXPECT_GT(released, 0);
  if (GetParam()) {
    // The record layer: OpenSSL keeps only the two AES-GCM contexts (about 900 bytes each).
    EXPECT_LT(released, 2560);
    EXPECT_LT(kept, 2560);
    return;
  }
  // OpenSSL 3.0 itself: the SSL object (~7.4 KiB), two AES-GCM contexts, the session, the
  // handshake hash and key shares it keeps. No 17 KiB record buffer.
  EXPECT_LT(released, 16 * 1024);
  EXPECT_GT(kept - released, 30 * 1024) << "the record buffers were not released";
}

TEST_P(TlsStream, IdleConnectionWaitingForReadabilityHoldsNoMoreThanAPendingRead) {
  if (!g_counting_openssl) GTEST_SKIP() << "OpenSSL allocated before the counting hooks were set";
  idle_connection_bytes(true);  // warms up OpenSSL's lazily built per-thread and global state
  const long long reading = idle_connection_bytes(true, Idle::pending_read);
  const long long waiting = idle_connection_bytes(true, Idle::wait_readable);
  RecordProperty("idle_bytes_waiting", std::to_string(waiting));
  std::printf(
      "OpenSSL bytes for an idle TLS 1.3 connection: %lld with a pending read, %lld "
      "waiting for readability\n",
      reading, waiting);
  EXPECT_GT(waiting, 0);
  // The same OpenSSL calls either way; what a handshake leaves (its session, its tickets)
  // varies by a few dozen bytes from one connection to the next. No record buffer either way.
  EXPECT_LE(waiting, reading + 256);
  EXPECT_LT(waiting, GetParam() ? 2560 : 16 * 1024);
}

}  // namespace
