#include "proxy/tcp/tcp_session.h"

#include <boost/asio/co_spawn.hpp>

#include "proxy/log.h"
#include "proxy/tcp/relay_session.h"
#include "proxy/worker_context.h"

namespace proxy::tcp_relay {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;

class TcpSession final : public RelaySession {
 public:
  using RelaySession::RelaySession;

  static void start(std::unique_ptr<TcpSession> self) {
    TcpSession& s = *self;
    asio::co_spawn(s.w_.io(), s.run(), [self = std::move(self)](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log_error(std::string("tcp session: ") + ex.what());
        }
      }
    });
  }

 private:
  awaitable<void> run();
};

awaitable<void> TcpSession::run() {
  if (!co_await admit_client()) co_return co_await finish();
  if (server_tls_ && !co_await handshake_client()) co_return co_await finish();
  const routing::Pool* pool = snap_->find_pool(ls_.pool);
  if (!pool)
    cause_ = "no_pool";
  else if (co_await connect(*pool))
    co_await relay();
  co_await finish();
}

}  // namespace

void start_tcp_session(WorkerContext& worker, tcp::socket socket, size_t listener,
                       tcp::endpoint peer, const tls::ServerTls* tls) {
  TcpSession::start(std::make_unique<TcpSession>(worker, std::move(socket), listener, peer, tls));
}

}  // namespace proxy::tcp_relay
