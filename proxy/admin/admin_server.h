// The admin listener: a small, strict HTTP/1.1 server for the admin API (api.h) on the
// process's control io_context (one thread, not a worker). Loopback by default; a bearer token
// when one is configured.
//
// Also the status page (status_page.h), whose history it samples every 10 s while it runs.
//
// Limits: request heads up to 16 KiB, bodies (forms) up to 64 KiB with a Content-Length,
// 10 s for each request (from waiting for it to the end of the answer), 32 connections at
// once. Keep-alive is kept; errors close the connection.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "proxy/admin/status_sources.h"
#include "proxy/snapshot.h"
#include "routing/login_shield.h"
#include "routing/user_affinity.h"

namespace proxy::admin {

namespace detail {
struct AdminState;
}

class AdminServer {
 public:
  struct Hooks {
    // The running config; called for each request, on the io_context's thread.
    std::function<std::shared_ptr<const Snapshot>()> snapshot;
    // Re-reads the config file: true and a message, or false and the errors, one per line.
    std::function<bool(std::string& message)> reload;
    // The /metrics exposition, built on the io_context's thread for each scrape.
    std::function<std::string()> metrics;
    // The status page's listeners, certificates and last reload (status_sources.h).
    std::function<StatusSources()> status;
    // Mail users' open sessions, for GET /api/v1/users/USER.
    const routing::UserAffinity* users = nullptr;
    // The process's login shield (thread-safe; outlives the server); null: 503 on its paths.
    routing::LoginShield* login_shield = nullptr;
  };

  // Binds and listens at once. Throws std::runtime_error with a clear message if it cannot
  // ("admin_listen 127.0.0.1:9900: cannot listen: Address already in use").
  // `token`: empty for none.
  AdminServer(boost::asio::io_context& ctx, boost::asio::ip::tcp::endpoint listen,
              std::string token, Hooks hooks);
  // Drops the server; connections still open end with the io_context. Destroy it on the
  // io_context's thread or once that has stopped running.
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Starts accepting and sampling the status page's history (the work runs in the io_context).
  void start();
  // Stops accepting and closes every admin connection, so that the io_context runs out of
  // work. From any thread; the work is done on the io_context's thread.
  void stop();
  // A new token for the next requests (empty: none); a different one ends the status page's
  // sessions. From the io_context's thread.
  void set_token(std::string token);

  // The address bound (useful with port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  std::shared_ptr<detail::AdminState> state_;
};

}  // namespace proxy::admin
