#include "proxy/http/upstream_attempt.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace proxy::http {

namespace asio = boost::asio;
using asio::awaitable;

UpstreamAttempt::UpstreamAttempt(Owner owner, const routing::Pool& pool, const tls::ClientTls* tls,
                                 const routing::RouteSettings& route)
    : owner_(owner),
      route_(route),
      transport_(owner.w.io().get_executor(), &owner.w.upstreams(), *this, route.timeouts.connect,
                 upstream::DialOptions{.tls = tls}, owner.w.index()),
      connector_(transport_, owner.w.random(), owner.w.index()),
      a_(pool) {}

void UpstreamAttempt::dialing(upstream::Stream* stream, Millis timeout) {
  owner_.in_use = stream;
  if (stream) owner_.conn.set_deadline(owner_.w.now() + timeout);
}

bool UpstreamAttempt::dial_expired() {
  const bool expired = owner_.expired;
  owner_.expired = false;
  return expired;
}

void UpstreamAttempt::follow() {
  owner_.in_use = &a_.conn->stream;
  owner_.node = a_.node();
  owner_.node_name = a_.node()->name();
}

awaitable<bool> UpstreamAttempt::get(bool has_body, bool& saw_timeout) {
  // A body cannot be replayed: an idle connection is checked before it carries one.
  const bool ok = co_await connector_.connect(a_, true, has_body);
  saw_timeout = a_.failure() == upstream::NoConnection::Timeout;
  if (ok) follow();
  co_return ok;
}

awaitable<bool> UpstreamAttempt::resend_head(std::string_view head, bool whole_head_sent,
                                             bool idempotent) {
  // Each round clears `reused` or spends the one replay: two rounds at most.
  while (co_await connector_.recover(a_, whole_head_sent, idempotent)) {
    follow();
    owner_.expired = false;
    owner_.conn.set_deadline(owner_.w.now() + route_.timeouts.response);
    auto [ec, n] = co_await asio::async_write(a_.conn->stream, asio::buffer(head),
                                              asio::as_tuple(asio::use_awaitable));
    a_.node()->traffic(owner_.w.index()).sent_bytes.add(n);
    if (!ec) co_return true;
    owner_.in_use = nullptr;
    whole_head_sent = false;  // this head did not leave whole either
  }
  owner_.in_use = nullptr;
  co_return false;
}

}  // namespace proxy::http
