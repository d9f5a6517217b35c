// Reading a message head from a stream into its buffer, and keeping a parsed head valid when
// its bytes move.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/http/body_relay.h"
#include "proxy/http/message_head.h"

namespace proxy::http {

// Moves every view of a parsed head from one copy of its bytes to another.
inline void rebase(RequestHead& h, const char* from, const char* to) {
  auto fix = [&](std::string_view& v) {
    if (!v.empty() || v.data()) v = std::string_view(to + (v.data() - from), v.size());
  };
  fix(h.method);
  fix(h.target);
  fix(h.host);
  fix(h.upgrade);
  for (uint16_t i = 0; i < h.nfields; ++i) {
    fix(h.fields[i].name);
    fix(h.fields[i].value);
  }
}

// Reads into `buf` until it holds a whole message head, then parses it once. The search for
// the blank line resumes where it stopped, so a head sent byte by byte costs linear time.
template <class Stream, class Head, class Parse>
boost::asio::awaitable<HeadStatus> read_head(Stream& s, boost::beast::flat_buffer& buf, Head& head,
                                             size_t max, size_t read_size, Parse parse,
                                             boost::system::error_code& ec) {
  size_t scanned = 0;
  for (;;) {
    std::string_view data = buffered(buf);
    size_t from = scanned > 3 ? scanned - 3 : 0;
    if (data.size() > from) {
      auto hit = std::string_view(data.data() + from, data.size() - from).find("\r\n\r\n");
      if (hit != std::string_view::npos) co_return parse(data, max, head);
      // Also let the parser judge what it can: a line ending in a bare LF is refused at once
      // rather than waited on, as no CRLF CRLF would ever end that head.
      if (data.size() > max) co_return HeadStatus::TooLarge;
      for (size_t lf = data.find('\n', from); lf != std::string_view::npos;
           lf = data.find('\n', lf + 1)) {
        if (lf == 0 || data[lf - 1] != '\r') co_return parse(data, max, head);
      }
    }
    scanned = data.size();
    auto [e, n] = co_await s.async_read_some(buf.prepare(read_size),
                                             boost::asio::as_tuple(boost::asio::use_awaitable));
    buf.commit(n);
    if (e) {
      ec = e;
      co_return HeadStatus::Incomplete;
    }
  }
}

}  // namespace proxy::http
