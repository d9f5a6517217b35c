// The connection of one probe: a TCP (or TLS) stream with one deadline for everything done on
// it, and the reads the probes need (some bytes, a line). Every operation races a timer set to
// the deadline; past it the operation is cancelled and reports timed_out.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "proxy/upstream/dial.h"
#include "proxy/upstream/stream.h"

namespace proxy::health {

class ProbeConnection {
 public:
  using error_code = boost::system::error_code;

  ProbeConnection(boost::asio::any_io_executor ex, std::chrono::milliseconds timeout);

  // Opens the connection as every connection to a node is opened (upstream/dial.h): connect,
  // PROXY header, TLS, within the probe's deadline (a timeout names the stage it cut).
  boost::asio::awaitable<upstream::DialError> dial(const boost::asio::ip::tcp::endpoint& endpoint,
                                                   const upstream::DialOptions& options);
  boost::asio::awaitable<error_code> write(std::string_view data);
  // Appends what arrives (up to `max` bytes) to buffer(); eof when the peer closed.
  boost::asio::awaitable<error_code> read_some(size_t max = 16 * 1024);
  // One line (without its CR LF or LF) taken from the front of buffer(), reading as needed.
  // A line longer than max_line gives message_size.
  boost::asio::awaitable<error_code> read_line(std::string& line, size_t max_line = 4096);
  // Best effort: close_notify on TLS (within the deadline), then close.
  boost::asio::awaitable<void> close();

  std::string& buffer() { return buffer_; }  // read but not yet used
  // The probe's own address (after connect), for a PROXY header about the probe itself.
  boost::asio::ip::tcp::endpoint local_endpoint() {
    error_code ignored;
    return stream_.lowest_layer().local_endpoint(ignored);
  }
  bool is_tls() const { return stream_.is_tls(); }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  template <class Op>
  boost::asio::awaitable<error_code> race(Op op);
  template <class Op>
  boost::asio::awaitable<std::pair<error_code, size_t>> race_n(Op op);

  std::chrono::milliseconds timeout_;
  upstream::Stream stream_;
  boost::asio::steady_timer deadline_;
  std::string buffer_;
};

// A probe's failure detail for a network error: "connection refused", "timeout <phase>",
// "connection closed <phase>", or the error's own message; `phase` such as "while connecting"
// or "in the TLS handshake".
std::string failure_detail(const boost::system::error_code& ec, std::string_view phase);

// At most `max` bytes of a peer's line, with anything not printable ASCII shown as '?': safe to
// log.
std::string printable(std::string_view text, size_t max = 80);

}  // namespace proxy::health
