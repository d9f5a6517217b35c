// IdleReader on real loopback sockets: a direction waiting for its source holds no pool buffer,
// a short message never takes one, a longer one goes on from a pool buffer in one read, bulk
// fills pool buffers back to back (filled()), the end of the stream after a full small read is
// reported by the next read, and a stream that is neither a socket nor a TLS stream keeps one.
#include "proxy/tcp/idle_reader.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/proxy/tcp/loopback_pair.h"

namespace proxy::tcp_relay {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

using testing::connected_pair;
using testing::Pair;

// One read, as pump() in relay.h runs it.
template <class S>
asio::awaitable<ReadResult> read_once(IdleReader<S>& reader) {
  ReadResult r;
  while (!reader.read_now(r)) {
    auto [ec, n] = co_await reader.async_wait(asio::as_tuple(asio::use_awaitable));
    if (reader.after_wait(ec, n, r)) break;
  }
  co_return r;
}

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed + i / 4099) % 251);
  return s;
}

// A reader on `b`, fed through `a`; each read() runs as its own coroutine so that the test can
// look at the reader while the read waits.
struct Fixture {
  asio::io_context ctx{1};
  Pair p = connected_pair(ctx);
  http::BufferPool pool;
  IdleReader<tcp::socket> reader{p.b, pool};
  std::optional<std::pair<boost::system::error_code, std::string>> last;

  void start_read() {
    last.reset();
    asio::co_spawn(
        ctx,
        [this]() -> asio::awaitable<void> {
          ReadResult r = co_await read_once(reader);
          last.emplace(r.ec, std::string(r.bytes.data(), r.bytes.size()));
        },
        asio::detached);
  }
  // Runs until the pending read completes (or nothing is left to run for a while).
  void settle() {
    for (int i = 0; i < 200 && !last; ++i) {
      ctx.restart();
      ctx.run_for(std::chrono::milliseconds(5));
    }
  }
  // Runs what is ready for a while, when nothing is expected to complete.
  void quiet() {
    ctx.restart();
    ctx.run_for(std::chrono::milliseconds(50));
  }
  void send(const std::string& s) {
    size_t sent = 0;
    while (sent < s.size()) {
      ssize_t n = ::send(p.a.native_handle(), s.data() + sent, s.size() - sent, MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      sent += static_cast<size_t>(n);
    }
  }
};

TEST(IdleReader, WaitsWithoutABufferAndAShortMessageTakesNone) {
  Fixture f;
  f.start_read();
  f.quiet();
  EXPECT_FALSE(f.last) << "nothing was sent";
  EXPECT_FALSE(f.reader.holds_buffer());
  f.send("a1 NOOP\r\n");
  f.settle();
  ASSERT_TRUE(f.last);
  EXPECT_FALSE(f.last->first);
  EXPECT_EQ(f.last->second, "a1 NOOP\r\n");
  EXPECT_FALSE(f.reader.holds_buffer());
  EXPECT_FALSE(f.reader.filled());
}

TEST(IdleReader, ALongerMessageComesInOneReadAndTheBufferGoesBackBeforeTheNextWait) {
  Fixture f;
  const std::string msg = pattern(5000, 1);
  f.send(msg);
  f.start_read();
  f.settle();
  ASSERT_TRUE(f.last);
  EXPECT_EQ(f.last->second, msg);
  EXPECT_TRUE(f.reader.holds_buffer()) << "the bytes are in a pool buffer";
  EXPECT_FALSE(f.reader.filled());
  f.start_read();
  f.quiet();
  EXPECT_FALSE(f.last) << "nothing more was sent";
  EXPECT_FALSE(f.reader.holds_buffer()) << "the wait holds no pool buffer";
  f.send("x");
  f.settle();
  ASSERT_TRUE(f.last);
  EXPECT_EQ(f.last->second, "x");
}

TEST(IdleReader, BulkFillsPoolBuffersAndEveryByteArrives) {
  Fixture f;
  const std::string msg = pattern(3 * http::BodyBuffer::size() + 77, 2);
  f.send(msg);
  std::string got;
  std::vector<bool> filled;
  while (got.size() < msg.size()) {
    f.start_read();
    f.settle();
    ASSERT_TRUE(f.last);
    ASSERT_FALSE(f.last->first) << f.last->first.message();
    got += f.last->second;
    filled.push_back(f.reader.filled());
  }
  EXPECT_TRUE(got == msg) << got.size();
  EXPECT_EQ(filled, (std::vector<bool>{true, true, true, false}));
  f.start_read();
  f.quiet();
  EXPECT_FALSE(f.last);
  EXPECT_FALSE(f.reader.holds_buffer());
}

TEST(IdleReader, TheEndAfterAFullSmallReadComesWithTheNextRead) {
  Fixture f;
  const std::string msg = pattern(IdleReader<tcp::socket>::kSmallRead, 3);
  f.send(msg);
  ::shutdown(f.p.a.native_handle(), SHUT_WR);
  f.start_read();
  f.settle();
  ASSERT_TRUE(f.last);
  EXPECT_FALSE(f.last->first);
  EXPECT_EQ(f.last->second, msg);
  f.start_read();
  f.settle();
  ASSERT_TRUE(f.last);
  EXPECT_EQ(f.last->first, asio::error::eof);
  EXPECT_TRUE(f.last->second.empty());
  EXPECT_FALSE(f.reader.holds_buffer());
}

// A stream with only async_read_some (as the HTTP/2 WebSocket adapter): it reads into a pool
// buffer and keeps it.
struct OnlyReadSome {
  tcp::socket& s;
  using executor_type = tcp::socket::executor_type;
  executor_type get_executor() { return s.get_executor(); }
  template <class Buffers, class Token>
  auto async_read_some(const Buffers& b, Token&& token) {
    return s.async_read_some(b, std::forward<Token>(token));
  }
};

TEST(IdleReader, AnyOtherStreamKeepsItsPoolBuffer) {
  asio::io_context ctx{1};
  Pair p = connected_pair(ctx);
  http::BufferPool pool;
  OnlyReadSome stream{p.b};
  IdleReader<OnlyReadSome> reader(stream, pool);
  static_assert(sizeof(IdleReader<OnlyReadSome>) < IdleReader<tcp::socket>::kSmallRead,
                "no small buffer for a stream that cannot use it");
  ::send(p.a.native_handle(), "hi", 2, MSG_NOSIGNAL);
  std::optional<std::string> got;
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        ReadResult r = co_await read_once(reader);
        got.emplace(r.bytes.data(), r.bytes.size());
      },
      asio::detached);
  ctx.run();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "hi");
  EXPECT_TRUE(reader.holds_buffer());
}

}  // namespace
}  // namespace proxy::tcp_relay
