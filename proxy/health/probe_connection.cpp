#include "proxy/health/probe_connection.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "tls/tls_stream.h"

namespace proxy::health {

namespace asio = boost::asio;
using asio::awaitable;
using asio::deferred;
using asio::use_awaitable;
using boost::system::error_code;

ProbeConnection::ProbeConnection(asio::any_io_executor ex, std::chrono::milliseconds timeout)
    : timeout_(timeout), stream_(ex), deadline_(ex) {
  deadline_.expires_after(timeout);
}

// The operation against the deadline: whichever ends first wins and the other is cancelled.
// The deadline timer keeps its expiry: each operation races what is left of it.
template <class Op>
awaitable<error_code> ProbeConnection::race(Op op) {
  auto [order, ec, timer_ec] = co_await asio::experimental::make_parallel_group(
                                   std::move(op), deadline_.async_wait(deferred))
                                   .async_wait(asio::experimental::wait_for_one(), use_awaitable);
  if (order[0] == 1) co_return timer_ec ? timer_ec : error_code(asio::error::timed_out);
  co_return ec;
}

template <class Op>
awaitable<std::pair<error_code, size_t>> ProbeConnection::race_n(Op op) {
  auto [order, ec, n, timer_ec] =
      co_await asio::experimental::make_parallel_group(std::move(op),
                                                       deadline_.async_wait(deferred))
          .async_wait(asio::experimental::wait_for_one(), use_awaitable);
  if (order[0] == 1)
    co_return std::pair(timer_ec ? timer_ec : error_code(asio::error::timed_out), size_t{0});
  co_return std::pair(ec, n);
}

awaitable<upstream::DialError> ProbeConnection::dial(const asio::ip::tcp::endpoint& endpoint,
                                                     const upstream::DialOptions& options) {
  upstream::DialStage stage = upstream::DialStage::Connect;
  auto [order, e, result, timer_ec] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(deadline_.get_executor(),
                         upstream::dial(stream_, endpoint, options, &stage), deferred),
          deadline_.async_wait(deferred))
          .async_wait(asio::experimental::wait_for_one(), use_awaitable);
  if (order[0] == 1)
    co_return upstream::DialError{timer_ec ? timer_ec : error_code(asio::error::timed_out), stage};
  if (e) std::rethrow_exception(e);
  co_return result;
}

awaitable<error_code> ProbeConnection::write(std::string_view data) {
  auto [ec, n] = co_await race_n(asio::async_write(stream_, asio::buffer(data), deferred));
  co_return ec;
}

awaitable<error_code> ProbeConnection::read_some(size_t max) {
  const size_t old = buffer_.size();
  buffer_.resize(old + max);
  auto [ec, n] =
      co_await race_n(stream_.async_read_some(asio::buffer(buffer_.data() + old, max), deferred));
  buffer_.resize(old + n);
  if (!ec && n == 0) ec = asio::error::eof;
  co_return ec;
}

awaitable<error_code> ProbeConnection::read_line(std::string& line, size_t max_line) {
  size_t searched = 0;
  for (;;) {
    const size_t lf = buffer_.find('\n', searched);
    if (lf != std::string::npos) {
      const size_t end = lf > 0 && buffer_[lf - 1] == '\r' ? lf - 1 : lf;
      if (end > max_line) co_return error_code(asio::error::message_size);
      line.assign(buffer_, 0, end);
      buffer_.erase(0, lf + 1);
      co_return error_code();
    }
    if (buffer_.size() > max_line) co_return error_code(asio::error::message_size);
    searched = buffer_.size();
    if (error_code ec = co_await read_some(max_line + 2 - buffer_.size())) co_return ec;
  }
}

awaitable<void> ProbeConnection::close() {
  auto& socket = stream_.lowest_layer();
  if (stream_.is_tls() && socket.is_open()) co_await race(stream_.tls()->async_shutdown(deferred));
  error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

std::string failure_detail(const error_code& ec, std::string_view phase) {
  const std::string while_phase = " " + std::string(phase);
  if (ec == asio::error::connection_refused) return "connection refused";
  if (ec == asio::error::timed_out) return "timeout" + while_phase;
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
    return "connection closed" + while_phase;
  if (ec == asio::error::connection_reset) return "connection reset" + while_phase;
  if (ec == asio::error::host_unreachable) return "host unreachable";
  if (ec == asio::error::network_unreachable) return "network unreachable";
  if (ec == asio::error::message_size) return "line too long" + while_phase;
  if (ec == asio::error::operation_aborted) return "cancelled";
  if (ec.category() == asio::error::get_ssl_category())
    return "TLS error" + while_phase + ": " + tls::last_error_reason(ec);
  return ec.message() + while_phase;
}

std::string printable(std::string_view text, size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out += c >= 0x20 && c < 0x7f ? c : '?';
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace proxy::health
