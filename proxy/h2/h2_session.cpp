#include "proxy/h2/h2_session.h"

#include <nghttp2/nghttp2.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/h2/session_memory.h"
#include "proxy/h2/stream_exchange.h"
#include "proxy/h2/stream_numbers.h"
#include "proxy/h2/stream_state.h"
#include "proxy/worker_context.h"
#include "tls/tls_stream.h"

namespace proxy::h2 {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// What Passeur announces (RFC 9113 6.5.2) is in server_session.h; the limits it keeps:
constexpr size_t kReadSize = 16 * 1024;
constexpr unsigned kReadsInARow = 4;  // reads found ready one after another, then a turn for others
// Where each read goes: nghttp2 takes the bytes before the reader waits again, so one buffer per
// worker thread serves all its connections.
thread_local std::array<char, kReadSize> read_buffer;
constexpr size_t kWriteGather = 64 * 1024;
constexpr size_t kLingerBytes = 1024 * 1024;
// Frames that ask for work without carrying any (SETTINGS, PING, PRIORITY, empty DATA): more
// than this in one second is a flood, answered with GOAWAY ENHANCE_YOUR_CALM.
constexpr unsigned kControlFramesPerSecond = 500;
// Streams reset by the client (rapid reset): a token bucket of kResetBurst then kResetRate per
// second (server_session.h); past it, GOAWAY ENHANCE_YOUR_CALM. nghttp2's own bucket, twice as
// large, stays behind it.
// A graceful stop's GOAWAY follows its shutdown notice once the PING sent with it comes back,
// or after this long if the client does not answer.
constexpr auto kGoawayRoundTrip = std::chrono::milliseconds(1000);
// A connection without streams that wrote nothing for this long gives back its frame buffer's
// pages and its write buffer. Not at once: a busy connection is often without streams for a
// moment, and getting them back costs page faults.
constexpr auto kReleaseAfter = std::chrono::milliseconds(100);
constexpr uint8_t kGoawayPing[8] = {'p', 'a', 's', 's', 'e', 'u', 'r', 0};

template <class Stream>
class Connection final : public TrackedConnection,
                         public StreamHost,
                         public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  Connection(WorkerContext& w, Stream stream, size_t listener, tcp::endpoint peer,
             routing::Country country)
      : w_(w),
        client_(std::move(stream)),
        listener_(listener),
        peer_(peer),
        peer_ip_(peer.address().to_string()),
        country_(country),
        write_signal_(w.io()),
        release_timer_(w.io()) {
    write_signal_.expires_at(asio::steady_timer::time_point::max());
    w_.track(*this);
    ListenerTraffic& t = w_.listener_traffic(listener_);
    t.active.add(1);
    t.h2_connections.add(1);
  }

  // Every stage of a stream holds the connection: none is left to wake (when the worker's
  // io_context is destroyed at the end of grace_period, the stages' frames, with the node
  // connections they own, are gone already). Only the gauges are settled.
  ~Connection() override {
    ListenerTraffic& t = w_.listener_traffic(listener_);
    for (auto& [id, st] : streams_) {
      st->closed = true;
      t.h2_streams.add(-1);
    }
    t.active.add(-1);
    t.h2_connections.add(-1);
    if (session_) nghttp2_session_del(session_);
  }

  void start(std::string_view received) {
    if (!init_session()) return;
    idle_from_now();
    auto self = this->shared_from_this();
    asio::co_spawn(w_.io(), reader(std::string(received)), [self](std::exception_ptr) {});
    asio::co_spawn(w_.io(), writer(), [self](std::exception_ptr) {});
  }

  // The connection's deadline: idle (no stream) for keepalive_timeout, or a write to the
  // client stuck for client_timeout. An idle connection gets GOAWAY, then closes.
  void expire() override {
    if (!streams_.empty() || writing_ || goaway_sent_ || !session_) {
      cancel_client();
      return;
    }
    goaway_sent_ = true;
    cancel_goaway_timer();
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    set_deadline(w_.now() + Millis(1000));
    output_ready(0);
  }

  // Stop: GOAWAY in two steps (RFC 9113 6.8). First a shutdown notice (last stream id 2^31-1)
  // and a PING; once the PING comes back (one round trip: the streams the client had sent by
  // then have arrived) or after kGoawayRoundTrip, the GOAWAY naming the last stream taken.
  // The open streams finish, later ones are not served; then the connection closes.
  void stop_gracefully() override {
    if (!session_ || goaway_sent_ || notice_sent_ || dead_) return;
    notice_sent_ = true;
    nghttp2_submit_shutdown_notice(session_);
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, kGoawayPing);
    goaway_timer_ = std::make_unique<asio::steady_timer>(w_.io());
    goaway_timer_->expires_after(kGoawayRoundTrip);
    goaway_timer_->async_wait([self = this->shared_from_this()](error_code ec) {
      if (!ec) self->final_goaway();
    });
    output_ready(0);
  }

  void consumed(int32_t stream, size_t n) override {
    if (!session_) return;
    nghttp2_session_consume(session_, stream, n);
    output_ready(0);
  }

  // A stream's header block did not end in time (a client holding the connection with a
  // never-ending header block): the connection closes.
  void head_timeout(int32_t) override { cancel_client(); }

  void output_ready(int32_t stream) override {
    if (stream != 0) {
      auto it = streams_.find(stream);
      if (it != streams_.end() && it->second->out_deferred && session_) {
        it->second->out_deferred = false;
        nghttp2_session_resume_data(session_, stream);
      }
    }
    write_signal_.cancel();
  }

  WorkerContext& worker() override { return w_; }
  nghttp2_session* session() override { return session_; }
  const SessionInfo& info() const override { return info_; }

 private:
  bool init_session() {
    nghttp2_session_callbacks* cb = nullptr;
    if (nghttp2_session_callbacks_new(&cb) != 0) return false;
    nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    session_ = new_server_session(cb, this, memory_.mem());
    nghttp2_session_callbacks_del(cb);
    if (!session_) return false;
    const ListenerSettings& ls = w_.snapshot()->config().listeners[listener_];
    info_ = SessionInfo{.listener = listener_,
                        .peer = peer_,
                        .peer_ip = peer_ip_,
                        .country = country_,
                        .tls = kTls};
    max_header_ = ls.max_header;
    submit_server_settings(session_, ls.max_header);
    return true;
  }

  static Connection& self_of(void* user) { return *static_cast<Connection*>(user); }
  StreamState* stream_of(int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  // A HEADERS frame on a stream the client never opened, numbered below one it did: GOAWAY
  // PROTOCOL_ERROR (RFC 9113 5.1.1), where nghttp2 ignores it.
  static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user) {
    Connection& c = self_of(user);
    if (hd->type == NGHTTP2_HEADERS && c.stream_numbers_.never_opened(hd->stream_id))
      c.terminate(NGHTTP2_PROTOCOL_ERROR);
    return 0;
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    Connection& c = self_of(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto st = std::make_shared<StreamState>(c, frame->hd.stream_id, c.w_.io().get_executor());
    c.w_.track(*st);
    st->set_deadline(c.w_.now() + c.listener().header_timeout);
    c.streams_.emplace(frame->hd.stream_id, std::move(st));
    c.w_.listener_traffic(c.listener_).h2_streams.add(1);
    if (c.deadline() != Clock::time_point::max() && !c.writing_) c.clear_deadline();
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    Connection& c = self_of(user);
    StreamState* st = c.stream_of(frame->hd.stream_id);
    if (!st) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    switch (st->take(n, v, c.max_header_)) {
      case HeaderIntake::Verdict::Ok:
        return 0;
      case HeaderIntake::Verdict::TooLarge:
        c.calm();
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      case HeaderIntake::Verdict::Malformed:
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return 0;
  }

  // Counts a frame that asks for work without carrying any: too many in a second is a flood.
  void control_frame() {
    const Clock::time_point now = w_.now();
    if (now - control_window_ > std::chrono::seconds(1)) {
      control_window_ = now;
      control_count_ = 0;
    }
    if (++control_count_ > kControlFramesPerSecond) calm();
  }

  // A limit was passed: GOAWAY ENHANCE_YOUR_CALM at once (nghttp2 then reads no further frame
  // of this input).
  void calm() { terminate(NGHTTP2_ENHANCE_YOUR_CALM); }

  // A connection error: GOAWAY with `code`, and nghttp2 reads no further frame of this input.
  void terminate(uint32_t code) {
    if (goaway_sent_) return;
    goaway_sent_ = true;
    nghttp2_session_terminate_session(session_, code);
  }

  // Counts a stream reset by the client against the token bucket.
  void stream_reset() {
    const Clock::time_point now = w_.now();
    if (reset_at_ != Clock::time_point{}) {
      const double seconds = std::chrono::duration<double>(now - reset_at_).count();
      reset_tokens_ = std::min(kResetBurst, reset_tokens_ + seconds * kResetRate);
    }
    reset_at_ = now;
    if (reset_tokens_ < 1) {
      calm();
    } else {
      reset_tokens_ -= 1;
    }
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    Connection& c = self_of(user);
    const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        StreamState* st = c.stream_of(frame->hd.stream_id);
        if (!st) break;
        if (!st->head_done) {
          st->head_done = true;
          st->end_stream = end;
          st->in_end = end;
          c.starting_.push_back(frame->hd.stream_id);
        } else if (end) {
          st->in_end = true;
          st->in_signal.cancel();
        }
        break;
      }
      case NGHTTP2_DATA:
        if (frame->hd.length == 0 && !end) c.control_frame();
        if (StreamState* st = c.stream_of(frame->hd.stream_id); st && end) {
          st->in_end = true;
          st->in_signal.cancel();
        }
        break;
      case NGHTTP2_SETTINGS:
      case NGHTTP2_PING:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK))
          c.control_frame();
        else if (c.notice_sent_ &&
                 std::memcmp(frame->ping.opaque_data, kGoawayPing, sizeof(kGoawayPing)) == 0)
          c.final_goaway();
        break;
      case NGHTTP2_PRIORITY:
        c.control_frame();
        break;
      case NGHTTP2_RST_STREAM:
        c.stream_reset();
        break;
      default:
        break;
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                           void* user) {
    Connection& c = self_of(user);
    StreamState* st = c.stream_of(id);
    if (!st || st->stopped_body) {
      c.drop_ += len;  // nobody takes these: the connection's window reopens for them at once
      return 0;
    }
    st->in.append(reinterpret_cast<const char*>(data), len);
    st->in_signal.cancel();
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t id, uint32_t, void* user) {
    Connection& c = self_of(user);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) return 0;
    std::shared_ptr<StreamState> st = std::move(it->second);
    c.streams_.erase(it);
    c.stream_gone(*st);
    if (c.streams_.empty() && !c.writing_) c.idle_from_now();
    return 0;
  }

  // nghttp2 is done with a stream: what it held of the request body is dropped, and whatever
  // its stages wait for ends.
  void stream_gone(StreamState& st) {
    st.closed = true;
    drop_ += st.in.size();
    st.in.clear();
    st.wake();
    w_.listener_traffic(listener_).h2_streams.add(-1);
  }

  void idle_from_now() {
    set_deadline(w_.now() +
                 (goaway_sent_ || notice_sent_ ? Millis(1000) : listener().keepalive_timeout));
  }

  // The second step of a graceful stop: GOAWAY NO_ERROR with the last stream taken. When no
  // stream is left, nghttp2 wants neither to read nor to write: the writer closes.
  void final_goaway() {
    cancel_goaway_timer();
    if (!session_ || goaway_sent_ || dead_) return;
    goaway_sent_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    if (streams_.empty() && !writing_) set_deadline(w_.now() + Millis(1000));
    output_ready(0);
  }

  void cancel_goaway_timer() {
    if (goaway_timer_) goaway_timer_->cancel();
  }

  const ListenerSettings& listener() const { return w_.snapshot()->config().listeners[listener_]; }

  void cancel_client() {
    error_code ignored;
    client_.lowest_layer().cancel(ignored);
  }

  // nghttp2 refused the input (a flood it caught, too many CONTINUATION frames, not HTTP/2 at
  // all): GOAWAY goes out, then the connection closes.
  void failed(long rv) {
    goaway_sent_fatal_ = true;
    if (goaway_sent_) return;
    goaway_sent_ = true;
    const bool flood = rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
    nghttp2_session_terminate_session(session_,
                                      flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
    set_deadline(w_.now() + Millis(1000));
  }

  // After each input: what the callbacks left to do outside nghttp2.
  void after_input() {
    if (drop_) {
      nghttp2_session_consume_connection(session_, drop_);
      drop_ = 0;
    }
    std::vector<int32_t> starting;
    starting.swap(starting_);
    for (int32_t id : starting) {
      auto it = streams_.find(id);
      if (it == streams_.end()) continue;
      std::shared_ptr<StreamState> st = it->second;
      auto self = this->shared_from_this();
      asio::co_spawn(w_.io(), serve_stream(*this, st), [self, st](std::exception_ptr) {});
    }
  }

  awaitable<void> reader(std::string received) {
    auto self = this->shared_from_this();
    if (!received.empty()) {
      const auto rv = nghttp2_session_mem_recv(
          session_, reinterpret_cast<const uint8_t*>(received.data()), received.size());
      if (rv < 0) failed(rv);
      after_input();
      output_ready(0);
    }
    // Reads go to the worker's buffer, without waiting, and nghttp2 takes all of it before the
    // next wait: a connection holds no read buffer, busy or idle.
    unsigned in_a_row = 0;
    while (!dead_ && !goaway_sent_fatal_ &&
           (nghttp2_session_want_read(session_) || nghttp2_session_want_write(session_))) {
      char* buf = read_buffer.data();
      error_code ec;
      size_t n = 0;
      if (!read_now(buf, n, ec)) {
        in_a_row = 0;
        if (co_await wait_readable()) {
          client_gone_ = true;
          break;
        }
        continue;
      }
      if (ec) {
        client_gone_ = true;
        break;
      }
      const auto rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buf), n);
      if (rv < 0) {
        failed(rv);
        break;
      }
      after_input();
      output_ready(0);
      // A client that keeps the socket full does not hold the worker: the others get a turn.
      if (++in_a_row == kReadsInARow) {
        in_a_row = 0;
        co_await asio::post(w_.io(), asio::use_awaitable);
      }
    }
    reading_done_ = true;
    write_signal_.cancel();
    // The client is gone (or must go): streams still at work stop.
    for (auto& [id, st] : streams_) {
      st->closed = true;
      st->wake();
    }
  }

  awaitable<void> writer() {
    auto self = this->shared_from_this();
    std::string& out = out_;
    for (;;) {
      out.clear();
      while (!dead_ && out.size() < kWriteGather) {
        const uint8_t* data = nullptr;
        const auto n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
          dead_ = true;
          break;
        }
        if (n == 0) break;
        out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      if (!out.empty()) {
        writing_ = true;
        ++writes_;
        const Clock::time_point before = deadline();
        set_deadline(w_.now() + listener().client_timeout);
        auto [ec, n] = co_await asio::async_write(client_, asio::buffer(out), use_tuple);
        writing_ = false;
        if (ec) {
          dead_ = true;
          client_gone_ = true;
          break;
        }
        if (!streams_.empty())
          clear_deadline();
        else if (before == Clock::time_point::max())
          idle_from_now();
        else
          set_deadline(before);
        continue;
      }
      if (dead_ || reading_done_ ||
          (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)))
        break;
      if (streams_.empty() && writes_ != released_at_) release_when_idle();
      waiting_ = true;
      co_await write_signal_.async_wait(use_tuple);
      waiting_ = false;
    }
    dead_ = true;
    cancel_goaway_timer();
    release_timer_.cancel();
    if (!client_gone_) {
      if constexpr (kTls) {
        set_deadline(w_.now() + Millis(1000));
        co_await client_.async_shutdown(use_tuple);
      }
      if (goaway_sent_ && reading_done_) co_await linger();
    }
    cancel_client();
    for (auto& [id, st] : streams_) {
      st->closed = true;
      st->wake();
    }
  }

  // Once the connection wrote nothing for kReleaseAfter and has no stream: nghttp2's frame buffer
  // (16 KiB) and the writer's go back until the next frame. Only while the writer waits: then
  // nghttp2 holds no frame in its buffer.
  void release_when_idle() {
    if (release_armed_) return;
    release_armed_ = true;
    const uint64_t writes = writes_;
    release_timer_.expires_after(kReleaseAfter);
    release_timer_.async_wait([self = this->shared_from_this(), writes](error_code ec) {
      self->release_armed_ = false;
      if (ec || self->dead_ || !self->waiting_ || !self->streams_.empty()) return;
      if (self->writes_ != writes) return self->release_when_idle();
      self->released_at_ = writes;
      self->memory_.release();
      std::string().swap(self->out_);
    });
  }

  // Reads what is there without waiting: true with n > 0 bytes read or an error in ec, false
  // when nothing is there yet.
  bool read_now(char* data, size_t& n, error_code& ec) {
    if constexpr (kTls) {
      return client_.read_now(asio::buffer(data, kReadSize), n, ec);
    } else {
      for (;;) {
        const ssize_t r = ::recv(client_.native_handle(), data, kReadSize, MSG_DONTWAIT);
        if (r > 0) {
          n = static_cast<size_t>(r);
          return true;
        }
        if (r == 0) {
          ec = asio::error::eof;
          return true;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        ec = error_code(errno, boost::system::system_category());
        return true;
      }
    }
  }

  // Until a read can make progress (over TLS, also for bytes the stream holds already), with
  // no buffer. The error, if any (the socket cancelled, the connection gone).
  awaitable<error_code> wait_readable() {
    if constexpr (kTls) {
      auto [ec] = co_await client_.async_wait_readable(use_tuple);
      co_return ec;
    } else {
      auto [ec] = co_await client_.async_wait(tcp::socket::wait_read, use_tuple);
      co_return ec;
    }
  }

  // After a GOAWAY for a client that may still be sending (a flood), what it sends is read and
  // dropped for a moment (at most kLingerBytes, 1 s): a close with unread bytes would reset the
  // connection, and the client could lose the GOAWAY that says why.
  awaitable<void> linger() {
    tcp::socket* socket = nullptr;
    if constexpr (kTls)
      socket = &client_.lowest_layer();
    else
      socket = &client_;
    error_code ignored;
    socket->shutdown(tcp::socket::shutdown_send, ignored);
    set_deadline(w_.now() + Millis(1000));
    auto buf = std::make_unique<char[]>(kReadSize);
    size_t dropped = 0;
    while (dropped < kLingerBytes) {
      auto [ec, n] =
          co_await socket->async_read_some(asio::buffer(buf.get(), kReadSize), use_tuple);
      if (ec) break;
      dropped += n;
    }
  }

  WorkerContext& w_;
  Stream client_;
  size_t listener_;
  tcp::endpoint peer_;
  std::string peer_ip_;
  routing::Country country_;
  SessionInfo info_{.listener = 0, .peer = {}, .peer_ip = {}, .country = {}, .tls = false};
  SessionMemory memory_;  // nghttp2's: outlives session_
  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, std::shared_ptr<StreamState>> streams_;
  std::vector<int32_t> starting_;  // streams whose request head came in the last input
  asio::steady_timer write_signal_;
  uint32_t max_header_ = 0;
  size_t drop_ = 0;  // request body bytes received for nobody, to give back to the window
  StreamNumbers stream_numbers_;  // the client's streams opened lately
  Clock::time_point control_window_{};
  Clock::time_point reset_at_{};
  double reset_tokens_ = kResetBurst;
  unsigned control_count_ = 0;
  std::unique_ptr<asio::steady_timer> goaway_timer_;  // the GOAWAY's wait after the notice
  asio::steady_timer release_timer_;                  // release_when_idle()'s
  std::string out_;                                   // the writer's frames, gathered
  uint64_t writes_ = 0;                               // writes to the client so far
  uint64_t released_at_ = 0;  // writes_ when the buffers were last given back
  bool notice_sent_ = false;  // a graceful stop began: shutdown notice and PING sent
  bool goaway_sent_ = false;
  bool goaway_sent_fatal_ = false;  // nghttp2 failed: no more input is read
  bool writing_ = false;
  bool release_armed_ = false;
  bool waiting_ = false;  // the writer waits for output_ready(): nothing left in nghttp2's buffer
  bool reading_done_ = false;
  bool dead_ = false;
  bool client_gone_ = false;  // the client closed, or a write to it failed
};

}  // namespace

void start_h2_session(WorkerContext& worker, tls::Stream stream, size_t listener,
                      tcp::endpoint peer, routing::Country country) {
  std::make_shared<Connection<tls::Stream>>(worker, std::move(stream), listener, peer, country)
      ->start({});
}

void start_h2c_session(WorkerContext& worker, tcp::socket socket, size_t listener,
                       tcp::endpoint peer, routing::Country country, std::string_view received) {
  std::make_shared<Connection<tcp::socket>>(worker, std::move(socket), listener, peer, country)
      ->start(received);
}

}  // namespace proxy::h2
