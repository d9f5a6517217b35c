// One HTTP/2 stream of a client connection, as the stages see it: the request's body as it
// comes in DATA frames (taken as the node takes it, so the stream's flow-control window is what
// bounds it), the response's body waiting for the client's window, and what the request did so
// far. Its deadline is its own: the connection's worker sweeps it like any connection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "proxy/config/settings.h"
#include "proxy/connection_registry.h"
#include "proxy/h2/head_conversion.h"
#include "proxy/h2/server_session.h"
#include "proxy/http/request_log.h"
#include "proxy/upstream/stream.h"
#include "routing/country.h"
#include "routing/node_state.h"

struct nghttp2_session;
namespace proxy {
class WorkerContext;
}

namespace proxy::h2 {

// The connection a stream came on.
struct SessionInfo {
  size_t listener;  // index in the snapshot's listeners
  boost::asio::ip::tcp::endpoint peer;
  std::string_view peer_ip;
  routing::Country country;
  bool tls = false;
};

// What a stream asks of its connection and its nghttp2 session.
class StreamHost {
 public:
  virtual ~StreamHost() = default;
  virtual WorkerContext& worker() = 0;
  virtual nghttp2_session* session() = 0;
  virtual const SessionInfo& info() const = 0;
  // `n` bytes of the stream's request body were taken: the client may send that much more.
  virtual void consumed(int32_t stream, size_t n) = 0;
  // Response bytes (or its end) are waiting for the client.
  virtual void output_ready(int32_t stream) = 0;
  // The stream's header block did not end within header_timeout.
  virtual void head_timeout(int32_t stream) = 0;
};

// Response bytes waiting for the client's window, at most this many per stream: a client that
// does not read makes the stream stop reading its node.
inline constexpr size_t kOutLimit = 64 * 1024;

class StreamState final : public TrackedConnection, public HeaderIntake {
 public:
  StreamState(StreamHost& host, int32_t id, const boost::asio::any_io_executor& ex)
      : host(host), id(id), in_signal(ex), out_signal(ex) {
    in_signal.expires_at(boost::asio::steady_timer::time_point::max());
    out_signal.expires_at(boost::asio::steady_timer::time_point::max());
  }

  // The deadline passed: what the stream waits for ends (the stages see `expired`).
  void expire() override {
    expired = true;
    if (!head_done) return host.head_timeout(id);
    wake();
  }
  void stop_gracefully() override {}  // the connection's GOAWAY lets the stream finish
  bool drain_cut_due(Clock::time_point now) const override {
    return rec.node && routing::drain_expired(*rec.node, drain_timeout, now);
  }

  // Ends every wait of the stream: on the client's side and on the node's.
  void wake() {
    in_signal.cancel();
    out_signal.cancel();
    if (upstream) {
      boost::system::error_code ignored;
      upstream->lowest_layer().cancel(ignored);
    }
  }

  StreamHost& host;
  const int32_t id;
  bool end_stream = false;    // the client's side ended with the header block
  bool closed = false;        // nghttp2 closed the stream (done, or reset by either side)
  bool expired = false;       // the stream's deadline passed
  bool stopped_body = false;  // the request's body is not wanted any more
  bool cut = false;           // a WebSocket tunnel failed: its waits on the stream end

  // The request's head (head, head_bytes, head_done) and trailers (in_trailers): HeaderIntake.
  // The request's body, from DATA frames, not yet taken by the node.
  std::string in;
  bool in_end = false;  // the client's END_STREAM came
  boost::asio::steady_timer in_signal;

  // The response's body, waiting for the client's window.
  std::string out;
  size_t out_pos = 0;
  bool out_end = false;       // no more bytes will come
  bool out_deferred = false;  // nghttp2 waits for output_ready()
  bool out_sent = false;      // the last byte went to nghttp2 (END_STREAM, or the trailers)
  std::vector<Field> out_trailers;
  boost::asio::steady_timer out_signal;

  // The upstream stage's view (UpstreamAttempt::Owner).
  http::RequestRecord rec;
  upstream::Stream* upstream = nullptr;
  Millis drain_timeout{0};
};

}  // namespace proxy::h2
