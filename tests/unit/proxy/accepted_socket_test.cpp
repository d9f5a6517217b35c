// What the worker's accept loop relies on: a socket accepted from a listening socket with
// TCP_NODELAY has it too, so the worker sets it once per listener, not once per connection.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

bool accepted_has_nodelay(bool on_listener) {
  asio::io_context ctx;
  tcp::acceptor acc(ctx);
  acc.open(tcp::v4());
  if (on_listener) acc.set_option(tcp::no_delay(true));
  acc.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acc.listen();
  tcp::socket client(ctx), accepted(ctx);
  client.connect(acc.local_endpoint());
  acc.accept(accepted);
  tcp::no_delay opt;
  accepted.get_option(opt);
  return opt.value();
}

TEST(AcceptedSocket, InheritsNoDelayFromTheListener) {
  EXPECT_TRUE(accepted_has_nodelay(true));
  EXPECT_FALSE(accepted_has_nodelay(false));
}

}  // namespace
