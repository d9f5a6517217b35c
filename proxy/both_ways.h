// Runs the two directions of a relay until both have ended, with less memory per session than
// Asio's `a && b` (experimental/awaitable_operators.hpp). That operator spawns both operands as
// coroutine threads of their own under a parallel group, with a cancellation signal for each and
// a frame for the operator itself: about 2 KiB that every idle relayed session holds
// (bench/README.md, idle sessions). Here the first operand runs in the caller's own coroutine
// thread and only the second is spawned; a timer, made only when the first ends before the
// second, waits for the second.
//
// There is no cancellation between the two: a relay ends a direction by cancelling its sockets
// (both directions see it). When one operand throws, `stop_other()` is called so the other ends
// too; the exception is rethrown once both have ended.
#pragma once

#include <chrono>
#include <exception>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace proxy {

template <class StopOther>
boost::asio::awaitable<void> both_ways(boost::asio::awaitable<void> first,
                                       boost::asio::awaitable<void> second, StopOther stop_other) {
  namespace asio = boost::asio;
  struct Join {
    bool second_done = false;
    std::exception_ptr second_error;
    std::optional<asio::steady_timer> wake;  // set while the first waits for the second
  } join;
  const auto executor = co_await asio::this_coro::executor;
  // `join` and `stop_other` live in this frame, which outlives the spawned operand's completion:
  // it is waited for below.
  asio::co_spawn(executor, std::move(second), [&join, &stop_other](std::exception_ptr e) {
    join.second_done = true;
    join.second_error = e;
    if (e) stop_other();
    if (join.wake) join.wake->cancel();
  });
  std::exception_ptr first_error;
  try {
    co_await std::move(first);
  } catch (...) {
    first_error = std::current_exception();
    stop_other();
  }
  if (!join.second_done) {
    join.wake.emplace(executor, asio::steady_timer::time_point::max());
    while (!join.second_done) co_await join.wake->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (first_error) std::rethrow_exception(first_error);
  if (join.second_error) std::rethrow_exception(join.second_error);
}

}  // namespace proxy
