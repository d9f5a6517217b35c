// The TCP relay's inner loop over real loopback sockets: a writer thread sends bytes into
// socket pair A, the relay moves them from A to socket pair B on an io_context (one direction,
// as a big download through a mail or TCP listener), a reader thread drains B. Compares the
// read/write loop (through a 16 KiB buffer from the pool while bytes flow) with splice(2) through a
// pipe, and with the listener's auto pump (recv/send until a read fills its buffer, then splice).
// Bytes per second are whole-system numbers (writer and reader threads included); the
// relay's own CPU time per byte is reported as relay_ns_per_KiB.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "proxy/tcp/auto_pump.h"
#include "proxy/tcp/relay.h"
#include "proxy/tcp/splice_pump.h"

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace proxy::tcp_relay;

struct Pair {
  tcp::socket a, b;
};

Pair connected_pair(asio::io_context& ctx) {
  tcp::acceptor acc(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket a(ctx), b(ctx);
  a.connect(acc.local_endpoint());
  acc.accept(b);
  return {std::move(a), std::move(b)};
}

double thread_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

enum class Mode { ReadWrite, Splice, Auto };

template <Mode kMode>
void BM_Relay(benchmark::State& state) {
  const size_t total = static_cast<size_t>(state.range(0)) << 20;
  double relay_cpu = 0;
  for (auto _ : state) {
    asio::io_context ctx(1);
    Pair in = connected_pair(ctx), out = connected_pair(ctx);
    // The writer and reader use blocking system calls on their own threads.
    int wfd = in.a.native_handle(), rfd = out.b.native_handle();
    std::thread writer([wfd, total] {
      std::vector<char> chunk(256 * 1024, 'x');
      size_t sent = 0;
      while (sent < total) {
        ssize_t n = ::send(wfd, chunk.data(), std::min(chunk.size(), total - sent), 0);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      ::shutdown(wfd, SHUT_WR);
    });
    std::atomic<size_t> received{0};
    std::thread reader([rfd, &received] {
      std::vector<char> chunk(256 * 1024);
      for (;;) {
        ssize_t n = ::recv(rfd, chunk.data(), chunk.size(), 0);
        if (n <= 0) break;
        received += static_cast<size_t>(n);
      }
    });
    uint64_t bytes = 0;
    bool stop = false;
    proxy::http::BufferPool pool;
    auto progress = [] {};
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
          PumpEnd end;
          if constexpr (kMode == Mode::Auto) {
            end = co_await auto_pump(in.b, out.a, pool, bytes, progress, stop, false);
          } else if constexpr (kMode == Mode::Splice) {
            boost::system::error_code ignored;
            in.b.non_blocking(true, ignored);
            out.a.non_blocking(true, ignored);
            end = co_await splice_pump(in.b, out.a, bytes, progress, stop, false);
          } else {
            end = co_await pump(in.b, out.a, pool, bytes, progress, stop, false);
          }
          (void)end;
          boost::system::error_code ignored;
          out.a.shutdown(tcp::socket::shutdown_send, ignored);
        },
        asio::detached);
    double cpu0 = thread_cpu_seconds();
    ctx.run();
    relay_cpu += thread_cpu_seconds() - cpu0;
    writer.join();
    reader.join();
    if (received != total || bytes != total) state.SkipWithError("bytes lost");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * total));
  state.counters["relay_ns_per_KiB"] = benchmark::Counter(
      relay_cpu * 1e9 / (static_cast<double>(state.iterations() * total) / 1024.0));
}

BENCHMARK_TEMPLATE(BM_Relay, Mode::ReadWrite)
    ->Name("TcpRelay/read_write")
    ->Arg(256)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Relay, Mode::Splice)
    ->Name("TcpRelay/splice")
    ->Arg(256)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Relay, Mode::Auto)
    ->Name("TcpRelay/auto")
    ->Arg(256)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
