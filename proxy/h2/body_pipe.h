// A stream's bodies as the streams the relay stage (proxy/http/body_relay.h) reads and writes:
// the request body is a stream read from (its DATA, taken as the node takes it; the end of the
// stream is eof), the response body a stream written to (bounded by kOutLimit: a write waits
// while the client's window is closed).
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include "proxy/h2/stream_state.h"

namespace proxy::h2 {

namespace detail {

// Whether a wait of the stream ends in an error: reset, or its deadline passed.
inline boost::system::error_code stream_error(const StreamState& s) {
  if (s.expired) return boost::asio::error::timed_out;
  if (s.closed) return boost::asio::error::connection_reset;
  if (s.cut) return boost::asio::error::operation_aborted;
  return {};
}

struct ReadBody {
  StreamState& s;
  boost::asio::mutable_buffer buffer;
  bool started = false;

  template <class Self>
  void operator()(Self& self, boost::system::error_code = {}) {
    if (!started) {  // never completes inside the initiation
      started = true;
      return boost::asio::post(std::move(self));
    }
    if (auto ec = stream_error(s); ec || s.stopped_body) {
      return self.complete(ec ? ec : boost::asio::error::operation_aborted, 0);
    }
    if (!s.in.empty()) {
      const size_t n = std::min(buffer.size(), s.in.size());
      std::copy_n(s.in.data(), n, static_cast<char*>(buffer.data()));
      s.in.erase(0, n);
      s.host.consumed(s.id, n);
      return self.complete({}, n);
    }
    if (s.in_end) return self.complete(boost::asio::error::eof, 0);
    s.in_signal.async_wait(std::move(self));
  }
};

template <class ConstBuffers>
struct WriteBody {
  StreamState& s;
  ConstBuffers buffers;
  bool started = false;

  template <class Self>
  void operator()(Self& self, boost::system::error_code = {}) {
    if (!started) {
      started = true;
      return boost::asio::post(std::move(self));
    }
    if (auto ec = stream_error(s)) return self.complete(ec, 0);
    const size_t held = s.out.size() - s.out_pos;
    if (held >= kOutLimit) return s.out_signal.async_wait(std::move(self));
    if (s.out_pos > 0 && s.out_pos == s.out.size()) {
      s.out.clear();
      s.out_pos = 0;
    } else if (s.out_pos >= kOutLimit) {
      s.out.erase(0, s.out_pos);
      s.out_pos = 0;
    }
    const size_t want = std::min(kOutLimit - held, boost::asio::buffer_size(buffers));
    const size_t at = s.out.size();
    s.out.resize(at + want);
    const size_t n =
        boost::asio::buffer_copy(boost::asio::buffer(s.out.data() + at, want), buffers);
    s.host.output_ready(s.id);
    self.complete({}, n);
  }
};

}  // namespace detail

class BodySource {
 public:
  using executor_type = boost::asio::any_io_executor;
  explicit BodySource(StreamState& s) : s_(s) {}
  executor_type get_executor() { return s_.in_signal.get_executor(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    boost::asio::mutable_buffer first;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (boost::asio::mutable_buffer(*it).size()) {
        first = *it;
        break;
      }
    }
    return boost::asio::async_compose<Token, void(boost::system::error_code, size_t)>(
        detail::ReadBody{s_, first}, token, s_.in_signal);
  }

 private:
  StreamState& s_;
};

class BodySink {
 public:
  using executor_type = boost::asio::any_io_executor;
  explicit BodySink(StreamState& s) : s_(s) {}
  executor_type get_executor() { return s_.out_signal.get_executor(); }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, size_t)>(
        detail::WriteBody<ConstBuffers>{s_, buffers}, token, s_.out_signal);
  }

 private:
  StreamState& s_;
};

// Both directions of a stream that carries a WebSocket (RFC 8441), as the tunnel stage
// (proxy/http/tunnel.h) sees a socket: reads take the client's DATA (the end of its stream is
// eof), writes wait for room as BodySink does, a half-close ends the stream towards the client
// (END_STREAM once the bytes before it went), and a cancel ends every wait of the tunnel.
class TunnelEnd {
 public:
  using executor_type = boost::asio::any_io_executor;
  explicit TunnelEnd(StreamState& s) : s_(s), source_(s), sink_(s) {}
  executor_type get_executor() { return s_.in_signal.get_executor(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return source_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return sink_.async_write_some(buffers, std::forward<Token>(token));
  }

  void cancel(boost::system::error_code&) {
    s_.cut = true;
    s_.in_signal.cancel();
    s_.out_signal.cancel();
  }
  template <class How>
  void shutdown(How, boost::system::error_code&) {
    s_.out_end = true;
    s_.host.output_ready(s_.id);
  }

 private:
  StreamState& s_;
  BodySource source_;
  BodySink sink_;
};

}  // namespace proxy::h2
