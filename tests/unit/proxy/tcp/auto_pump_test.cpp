// auto_pump over real loopback sockets: a short exchange stays on recv/send (no pipe), a bulk
// transfer switches to splice(2) mid-stream with every byte intact, half-close passed on in
// either order while the other direction keeps flowing, and a PROXY header refused.
#include "proxy/tcp/auto_pump.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/proxy/tcp/loopback_pair.h"

namespace proxy::tcp_relay {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

using testing::connected_pair;
using testing::Pair;

std::vector<char> pattern(size_t n, unsigned seed) {
  std::vector<char> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<char>((i * 131 + seed + i / 4099) % 251);
  return v;
}

void send_all(int fd, const std::vector<char>& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    sent += static_cast<size_t>(n);
  }
}

std::vector<char> read_to_eof(int fd) {
  std::vector<char> got;
  char chunk[65536];
  for (;;) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    got.insert(got.end(), chunk, chunk + n);
  }
  return got;
}

// The relay under test: client socket pair (outer end `client.a`, Passeur's end `client.b`)
// and node socket pair (Passeur's end `node.a`, outer end `node.b`); one auto_pump per
// direction, each passing its FIN on with shutdown(2), as the TCP session does.
struct Relay {
  asio::io_context ctx{1};
  Pair client = connected_pair(ctx);
  Pair node = connected_pair(ctx);
  http::BufferPool pool;
  bool stop = false;
  uint64_t up_bytes = 0, down_bytes = 0;
  bool up_spliced = false, down_spliced = false;
  std::optional<PumpEnd> up_end, down_end;

  // A member coroutine, not a lambda: the frame must not refer to a closure that is gone.
  asio::awaitable<void> one(tcp::socket& from, tcp::socket& to, uint64_t& bytes, bool& spliced,
                            std::optional<PumpEnd>& end, bool check) {
    end = co_await auto_pump(
        from, to, pool, bytes, [] {}, stop, check, &spliced);
    boost::system::error_code ignored;
    to.shutdown(tcp::socket::shutdown_send, ignored);
  }
  void start(bool check_first = false) {
    asio::co_spawn(ctx, one(client.b, node.a, up_bytes, up_spliced, up_end, check_first),
                   asio::detached);
    asio::co_spawn(ctx, one(node.a, client.b, down_bytes, down_spliced, down_end, false),
                   asio::detached);
  }
};

TEST(AutoPump, ShortExchangeNeverSplices) {
  Relay r;
  r.start(true);
  const int c = r.client.a.native_handle(), n = r.node.b.native_handle();
  std::thread outside([c, n] {
    const std::string req = "GET / HTTP/1.0\r\n\r\n", resp = "HTTP/1.0 200 OK\r\n\r\nok\n";
    ::send(c, req.data(), req.size(), 0);
    char buf[256];
    ssize_t got = ::recv(n, buf, sizeof buf, 0);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(got)), req);
    ::send(n, resp.data(), resp.size(), 0);
    ::shutdown(n, SHUT_WR);
    auto back = read_to_eof(c);
    EXPECT_EQ(std::string(back.begin(), back.end()), resp);
    ::shutdown(c, SHUT_WR);
    EXPECT_TRUE(read_to_eof(n).empty());
  });
  r.ctx.run();
  outside.join();
  EXPECT_EQ(r.up_end, PumpEnd::Fin);
  EXPECT_EQ(r.down_end, PumpEnd::Fin);
  EXPECT_FALSE(r.up_spliced);
  EXPECT_FALSE(r.down_spliced);
  EXPECT_EQ(r.up_bytes, 18u);
  EXPECT_EQ(r.down_bytes, 22u);
}

// Client sends a bulk upload and half-closes; the node reads it all, then answers with a bulk
// download of its own and closes: both directions switch to splice, every byte arrives.
TEST(AutoPump, BulkSwitchesToSpliceWithEveryByteIntactClientClosesFirst) {
  Relay r;
  r.start();
  const auto up = pattern(3 * 1024 * 1024 + 777, 1), down = pattern(5 * 1024 * 1024 + 5, 2);
  const int c = r.client.a.native_handle(), n = r.node.b.native_handle();
  std::vector<char> at_node, at_client;
  std::thread client([&] {
    send_all(c, up);
    ::shutdown(c, SHUT_WR);
    at_client = read_to_eof(c);
  });
  std::thread node([&] {
    at_node = read_to_eof(n);  // the client's FIN came through
    send_all(n, down);         // and this direction still flows
    ::shutdown(n, SHUT_WR);
  });
  r.ctx.run();
  client.join();
  node.join();
  EXPECT_TRUE(at_node == up) << at_node.size();
  EXPECT_TRUE(at_client == down) << at_client.size();
  EXPECT_TRUE(r.up_spliced);
  EXPECT_TRUE(r.down_spliced);
  EXPECT_EQ(r.up_bytes, up.size());
  EXPECT_EQ(r.down_bytes, down.size());
  EXPECT_EQ(r.up_end, PumpEnd::Fin);
  EXPECT_EQ(r.down_end, PumpEnd::Fin);
}

// The node sends a short greeting, then a bulk download, and half-closes first; the client
// reads to EOF, then uploads (short, then bulk) and closes.
TEST(AutoPump, HalfCloseNodeFirstThenTheClientKeepsSending) {
  Relay r;
  r.start();
  const auto greeting = pattern(40, 3), down = pattern(2 * 1024 * 1024 + 3, 4);
  const auto up = pattern(1024 * 1024 + 9, 5);
  const int c = r.client.a.native_handle(), n = r.node.b.native_handle();
  std::vector<char> at_node, at_client;
  std::thread node([&] {
    send_all(n, greeting);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    send_all(n, down);
    ::shutdown(n, SHUT_WR);
    at_node = read_to_eof(n);
  });
  std::thread client([&] {
    at_client = read_to_eof(c);
    send_all(c, greeting);
    send_all(c, up);
    ::shutdown(c, SHUT_WR);
  });
  r.ctx.run();
  client.join();
  node.join();
  std::vector<char> want_down = greeting, want_up = greeting;
  want_down.insert(want_down.end(), down.begin(), down.end());
  want_up.insert(want_up.end(), up.begin(), up.end());
  EXPECT_TRUE(at_client == want_down) << at_client.size();
  EXPECT_TRUE(at_node == want_up) << at_node.size();
  EXPECT_TRUE(r.down_spliced);
  EXPECT_EQ(r.down_end, PumpEnd::Fin);
  EXPECT_EQ(r.up_end, PumpEnd::Fin);
  EXPECT_EQ(r.up_bytes, want_up.size());
  EXPECT_EQ(r.down_bytes, want_down.size());
}

TEST(AutoPump, RefusesAProxyHeaderFromTheClient) {
  Relay r;
  r.start(true);
  const std::string header = "PROXY TCP4 192.0.2.1 192.0.2.2 1234 25\r\nEHLO x\r\n";
  ::send(r.client.a.native_handle(), header.data(), header.size(), 0);
  r.node.b.close();  // so that the other direction ends as well
  r.ctx.run();
  EXPECT_EQ(r.up_end, PumpEnd::ProxyHeader);
  EXPECT_EQ(r.up_bytes, 0u);
  EXPECT_EQ(r.down_end, PumpEnd::Fin);
}

}  // namespace
}  // namespace proxy::tcp_relay
