// The life of one HTTP/2 stream's request, through the same stages as an HTTP/1.1 request:
// its head checked by the HTTP/1.1 parser, decide (proxy/http/decide.h), the upstream connector
// (proxy/http/upstream_attempt.h), the head for the node and the header rules
// (proxy/http/exchange.h), the bodies through the relay stage (proxy/http/body_relay.h) over
// the stream's flow control (body_pipe.h), and the access log (proxy/http/request_log.h).
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>

#include "proxy/h2/stream_state.h"

namespace proxy::h2 {

// Serves the stream whose request head came in. Runs until its answer went to nghttp2 (or the
// stream was reset); then counted and logged.
boost::asio::awaitable<void> serve_stream(StreamHost& host, std::shared_ptr<StreamState> st);

}  // namespace proxy::h2
