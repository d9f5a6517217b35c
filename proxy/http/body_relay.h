// Streaming one message body from a source stream to a destination stream through the
// source's read buffer: Content-Length, chunked (decoded, re-framed) or until the source closes.
// The buffer never holds more than one read (16 KiB) beyond what the destination accepted, so
// a slow reader on either side applies backpressure instead of growing memory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/container/small_vector.hpp>

#include "proxy/http/chunked_decoder.h"
#include "proxy/http/header_rewrite.h"

namespace proxy::http {

inline constexpr size_t kRelayRead = 16 * 1024;
// A transfer whose reads keep filling the buffer (a download, an upload) moves to larger reads:
// four times fewer system calls per byte, still a bounded amount held per connection.
inline constexpr size_t kRelayReadBulk = 64 * 1024;

inline std::string_view buffered(const boost::beast::flat_buffer& b) {
  return {static_cast<const char*>(b.data().data()), b.size()};
}

// How a body is delimited on the wire it is read from.
struct BodyState {
  Framing kind = Framing::None;
  uint64_t remaining = 0;  // Length: bytes still to come
  ChunkedDecoder decoder;  // Chunked

  static BodyState none() { return {}; }
  static BodyState length(uint64_t n) {
    BodyState b;
    b.kind = n ? Framing::Length : Framing::None;
    b.remaining = n;
    return b;
  }
  static BodyState chunked() {
    BodyState b;
    b.kind = Framing::Chunked;
    return b;
  }
  static BodyState until_close() {
    BodyState b;
    b.kind = Framing::Close;
    return b;
  }
  // A response's body as RFC 9112 6.3 delimits it: none for HEAD, 204 and 304; else chunks, a
  // length, or up to the node's close.
  static BodyState of_response(std::string_view method, unsigned status, bool chunked,
                               std::optional<uint64_t> length) {
    if (method == "HEAD" || status == 204 || status == 304) return none();
    if (chunked) return BodyState::chunked();
    if (length) return BodyState::length(*length);
    return until_close();
  }
};

enum class RelayResult : uint8_t {
  Ok,
  SourceError,  // the source failed or closed early: the message is incomplete
  SourceBad,    // the source sent a malformed chunked body
  DestError,    // the destination failed
  TooLarge,     // more body than the limit
  Expired,      // the connection's deadline passed
};

// One body on its way: the source's buffer and framing, what goes out first, and the limits.
struct BodyRelay {
  boost::beast::flat_buffer& in;  // the source's buffer, holding bytes already read
  BodyState& body;                // how the body is delimited on the source's wire
  std::string& head;  // written first, in the same write as the first body bytes (then cleared)
  bool chunked_out = false;  // re-frame the data as chunks
  std::chrono::milliseconds read_timeout{};
  std::chrono::milliseconds write_timeout{};
  uint64_t limit = 0;   // body bytes allowed; 0: no limit
  uint64_t& bytes_out;  // counts what was written
  const bool& expired;  // whether an error was caused by the connection's deadline
  // Optional. Chunked source: its trailer fields are kept here and, when the data goes out
  // chunked, passed on in the last chunk. Without it they are dropped.
  std::string* trailers = nullptr;
  uint64_t* bytes_in = nullptr;                // counts the source's bytes used (framing included)
  boost::system::error_code* error = nullptr;  // the source's or destination's error
  const bool* stop = nullptr;    // set (with the streams' operations cancelled) to end early
  bool* write_failed = nullptr;  // set when the failure (or the expiry) hit a write
};

// Relays the body described by `r.body` from `from` (whose already-read bytes are in `r.in`)
// to `to`. `deadline(ms)` moves the connection's deadline.
template <class From, class To, class Deadline>
boost::asio::awaitable<RelayResult> relay_body(From& from, To& to, BodyRelay r,
                                               Deadline&& deadline) {
  boost::beast::flat_buffer& in = r.in;
  BodyState& body = r.body;
  std::string& head = r.head;
  const bool chunked_out = r.chunked_out;
  const uint64_t limit = r.limit;
  namespace asio = boost::asio;
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  // Head, chunk frame, data pieces, trailer: fits inline, no allocation per message.
  boost::container::small_vector<asio::const_buffer, 8> parts;
  char frame[24];
  uint64_t total = 0;
  size_t read_size = kRelayRead;
  if (r.trailers && body.kind == Framing::Chunked) body.decoder.keep_trailers(r.trailers);
  auto failed = [&](boost::system::error_code ec, RelayResult why) {
    if (r.error) *r.error = ec;
    if (r.write_failed) *r.write_failed = why == RelayResult::DestError;
    return r.expired ? RelayResult::Expired : why;
  };
  for (;;) {
    if (r.stop && *r.stop) co_return RelayResult::SourceError;
    // 1. Pass on what is already buffered.
    parts.clear();
    if (!head.empty()) parts.push_back(asio::buffer(head));
    const size_t frame_at = parts.size();
    if (chunked_out) parts.push_back({});
    std::string_view avail = buffered(in);
    size_t consumed = 0;
    size_t data = 0;
    bool finished = false;
    switch (body.kind) {
      case Framing::None:
        finished = true;
        break;
      case Framing::Length: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(body.remaining, avail.size()));
        if (n) parts.push_back(asio::buffer(avail.data(), n));
        data = consumed = n;
        body.remaining -= n;
        finished = body.remaining == 0;
        break;
      }
      case Framing::Chunked: {
        auto st = body.decoder.feed(avail, consumed, [&](std::string_view d) {
          parts.push_back(asio::buffer(d.data(), d.size()));
          data += d.size();
        });
        if (st == ChunkedDecoder::Status::Bad) co_return RelayResult::SourceBad;
        finished = body.decoder.done();
        break;
      }
      case Framing::Close:
        if (!avail.empty()) parts.push_back(asio::buffer(avail.data(), avail.size()));
        data = consumed = avail.size();
        break;
    }
    total += data;
    if (limit && total > limit) co_return RelayResult::TooLarge;
    if (chunked_out) {
      if (data) {
        int len = std::snprintf(frame, sizeof frame, "%zx\r\n", data);
        parts[frame_at] = asio::buffer(frame, static_cast<size_t>(len));
        parts.push_back(asio::buffer("\r\n", 2));
      }
      if (finished && r.trailers && !r.trailers->empty()) {
        parts.push_back(asio::buffer("0\r\n", 3));
        parts.push_back(asio::buffer(*r.trailers));
        parts.push_back(asio::buffer("\r\n", 2));
      } else if (finished) {
        parts.push_back(asio::buffer("0\r\n\r\n", 5));
      }
    }
    if (asio::buffer_size(parts) > 0) {
      deadline(r.write_timeout);
      // A view of the parts, not a copy of the vector in the operation: moving a small_vector
      // trips GCC 12's -Wstringop-overread at -O3 (a false positive on its inline storage).
      auto [ec, n] = co_await asio::async_write(
          to, std::span<const asio::const_buffer>(parts.data(), parts.size()), use_tuple);
      r.bytes_out += n;
      if (ec) co_return failed(ec, RelayResult::DestError);
      head.clear();
    }
    in.consume(consumed);
    if (r.bytes_in) *r.bytes_in += consumed;
    if (finished) co_return RelayResult::Ok;

    // 2. Read more from the source.
    if (r.stop && *r.stop) co_return RelayResult::SourceError;
    size_t want = read_size;
    if (body.kind == Framing::Length)
      want = static_cast<size_t>(std::min<uint64_t>(body.remaining, read_size));
    deadline(r.read_timeout);
    auto [ec, n] = co_await from.async_read_some(in.prepare(want), use_tuple);
    in.commit(n);
    if (n == want && want == kRelayRead) read_size = kRelayReadBulk;
    if (ec) {
      if (ec == asio::error::eof && body.kind == Framing::Close) {
        body.kind = Framing::None;  // the close ends the message: flush the final chunk
        continue;
      }
      co_return failed(ec, RelayResult::SourceError);
    }
  }
}

}  // namespace proxy::http
