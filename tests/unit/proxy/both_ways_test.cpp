#include "proxy/both_ways.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace {

namespace asio = boost::asio;
using asio::awaitable;
using std::chrono::milliseconds;

// A direction that waits on `timer` (until it fires or is cancelled), then notes its name.
awaitable<void> wait_then_note(asio::steady_timer& timer, std::vector<std::string>& log,
                               std::string name) {
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  log.push_back(name);
}

awaitable<void> throw_after(asio::steady_timer& timer) {
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  throw std::runtime_error("broken");
}

struct BothWays : ::testing::Test {
  asio::io_context io;
  asio::steady_timer a{io}, b{io};
  std::vector<std::string> log;
  int stops = 0;
  std::exception_ptr error;
  bool done = false;

  auto stop() {
    return [this] {
      ++stops;
      a.cancel();
      b.cancel();
    };
  }
  void run(awaitable<void> first, awaitable<void> second) {
    asio::co_spawn(io, proxy::both_ways(std::move(first), std::move(second), stop()),
                   [this](std::exception_ptr e) {
                     error = e;
                     done = true;
                     log.push_back("both");
                   });
    io.run_for(milliseconds(2000));
  }
};

TEST_F(BothWays, EndsOnceTheSecondEndsAfterTheFirst) {
  a.expires_after(milliseconds(1));
  b.expires_after(milliseconds(30));
  run(wait_then_note(a, log, "first"), wait_then_note(b, log, "second"));
  EXPECT_TRUE(done);
  EXPECT_EQ(log, (std::vector<std::string>{"first", "second", "both"}));
  EXPECT_EQ(stops, 0);
  EXPECT_FALSE(error);
}

TEST_F(BothWays, EndsOnceTheFirstEndsAfterTheSecond) {
  a.expires_after(milliseconds(30));
  b.expires_after(milliseconds(1));
  run(wait_then_note(a, log, "first"), wait_then_note(b, log, "second"));
  EXPECT_EQ(log, (std::vector<std::string>{"second", "first", "both"}));
  EXPECT_EQ(stops, 0);
}

TEST_F(BothWays, ASecondThatThrowsStopsTheFirstAndTheErrorComesOut) {
  a.expires_at(asio::steady_timer::time_point::max());  // would wait for ever
  b.expires_after(milliseconds(1));
  run(wait_then_note(a, log, "first"), throw_after(b));
  ASSERT_TRUE(done);
  EXPECT_EQ(stops, 1);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::runtime_error);
  EXPECT_EQ(log, (std::vector<std::string>{"first", "both"}));
}

TEST_F(BothWays, AFirstThatThrowsStopsTheSecondWhichIsWaitedFor) {
  a.expires_after(milliseconds(1));
  b.expires_at(asio::steady_timer::time_point::max());
  run(throw_after(a), wait_then_note(b, log, "second"));
  ASSERT_TRUE(done);
  EXPECT_EQ(stops, 1);
  ASSERT_TRUE(error);
  EXPECT_EQ(log, (std::vector<std::string>{"second", "both"}));
}

TEST_F(BothWays, ASecondThatEndsAtOnceIsNotWaitedFor) {
  a.expires_after(milliseconds(1));
  auto at_once = [](std::vector<std::string>& l) -> awaitable<void> {
    l.push_back("second");
    co_return;
  };
  run(wait_then_note(a, log, "first"), at_once(log));
  EXPECT_EQ(log, (std::vector<std::string>{"second", "first", "both"}));
}

}  // namespace
