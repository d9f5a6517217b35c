// The admin listener over real sockets on 127.0.0.1 (port 0): framing, limits, keep-alive,
// errors that close, stop().
#include "proxy/admin/admin_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "routing/node.h"

namespace proxy::admin {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kToken = "0123456789abcdef0123";

// A blocking client socket with a receive timeout.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  // One response (head and Content-Length body); empty when the connection ended first.
  std::string response(bool head_only = false) {
    for (;;) {
      size_t end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t cl = 0;
        auto pos = buf_.find("Content-Length: ");
        if (pos != std::string::npos && pos < end && !head_only)
          cl = std::stoul(buf_.substr(pos + 16));
        if (buf_.size() >= end + 4 + cl) {
          std::string out = buf_.substr(0, end + 4 + cl);
          buf_.erase(0, end + 4 + cl);
          return out;
        }
      }
      if (!fill()) return {};
    }
  }
  // True when the server closes the connection (EOF or reset) with nothing more sent.
  bool closed() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool fill() {
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

class AdminServerTest : public ::testing::Test {
 protected:
  void start(std::string token = "") {
    Config c;
    routing::PoolSettings p;
    p.name = "cloud";
    p.nodes = {{"node1", "10.0.0.11:8081", 1}};
    c.pools = {p};
    snapshot_ = std::make_shared<const Snapshot>(std::move(c), nullptr);
    AdminServer::Hooks hooks;
    hooks.snapshot = [this] { return snapshot_; };
    hooks.reload = [this](std::string& message) {
      ++reloads_;
      message = "reloaded";
      return true;
    };
    server_ = std::make_unique<AdminServer>(
        ctx_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), std::move(token), hooks);
    port_ = server_->local_endpoint().port();
    server_->start();
    thread_ = std::thread([this] { ctx_.run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  asio::io_context ctx_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::unique_ptr<AdminServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::atomic<int> reloads_{0};
};

TEST_F(AdminServerTest, KeepAliveAndPipelining) {
  start();
  Client c(port_);
  ASSERT_TRUE(c.connected());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.response();
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r, HasSubstr("\r\n\r\nok\n"));
  EXPECT_THAT(r, Not(HasSubstr("Connection: close")));
  // Two requests in one write, the first with a small body that is read and dropped.
  c.send(
      "POST /api/v1/pools/cloud/nodes/node1/drain HTTP/1.1\r\nHost: x\r\n"
      "Content-Length: 5\r\n\r\nhelloGET /api/v1/pools HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.response();
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r, HasSubstr("\"admin\": \"draining\""));
  r = c.response();
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r, HasSubstr("\"pools\""));
  EXPECT_EQ(snapshot_->pools()[0]->nodes()[0]->admin(), routing::Admin::Draining);
  // HEAD: the head only, and the connection goes on.
  c.send("HEAD /api/v1/pools HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n");
  r = c.response(true);
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r, HasSubstr("Content-Length: "));
  r = c.response();
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r, HasSubstr("\r\n\r\nok\n"));
}

TEST_F(AdminServerTest, Http10ClosesAfterAnswer) {
  start();
  Client c(port_);
  c.send("GET /healthz HTTP/1.0\r\n\r\n");
  auto r = c.response();
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r, HasSubstr("Connection: close\r\n"));
  EXPECT_TRUE(c.closed());
}

TEST_F(AdminServerTest, MalformedRequestIs400AndCloses) {
  start();
  Client c(port_);
  c.send("GARBAGE\r\n\r\n");
  auto r = c.response();
  EXPECT_THAT(r, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(r, HasSubstr("Connection: close\r\n"));
  EXPECT_TRUE(c.closed());
}

TEST_F(AdminServerTest, HeadOver16KiBIs431) {
  start();
  Client c(port_);
  c.send("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(17 * 1024, 'a') + "\r\n\r\n");
  auto r = c.response();
  EXPECT_THAT(r, StartsWith("HTTP/1.1 431 "));
  EXPECT_TRUE(c.closed());
}

TEST_F(AdminServerTest, BodyLimits) {
  start();
  {
    Client c(port_);
    c.send("POST /api/v1/reload HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
    auto r = c.response();
    EXPECT_THAT(r, StartsWith("HTTP/1.1 413 "));
    EXPECT_TRUE(c.closed());
  }
  {
    Client c(port_);
    c.send("POST /api/v1/reload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    auto r = c.response();
    EXPECT_THAT(r, StartsWith("HTTP/1.1 411 "));
    EXPECT_TRUE(c.closed());
  }
  EXPECT_EQ(reloads_, 0);
  {
    Client c(port_);
    c.send("POST /api/v1/reload HTTP/1.1\r\nContent-Length: 65536\r\n\r\n" +
           std::string(65536, 'x'));
    auto r = c.response();
    EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(r, HasSubstr("\"message\": \"reloaded\""));
  }
  EXPECT_EQ(reloads_, 1);
}

TEST_F(AdminServerTest, ErrorsCloseTheConnection) {
  start();
  Client c(port_);
  c.send("GET /nope HTTP/1.1\r\n\r\n");
  auto r = c.response();
  EXPECT_THAT(r, StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(r, HasSubstr("Connection: close\r\n"));
  EXPECT_TRUE(c.closed());
}

TEST_F(AdminServerTest, TokenChecked) {
  start(kToken);
  {
    Client c(port_);
    c.send("GET /api/v1/pools HTTP/1.1\r\n\r\n");
    auto r = c.response();
    EXPECT_THAT(r, StartsWith("HTTP/1.1 401 Unauthorized\r\n"));
    EXPECT_THAT(r, HasSubstr("WWW-Authenticate: Bearer realm=\"passeur\"\r\n"));
  }
  Client c(port_);
  c.send(std::string("GET /api/v1/pools HTTP/1.1\r\nAuthorization: Bearer ") + kToken + "\r\n\r\n");
  EXPECT_THAT(c.response(), StartsWith("HTTP/1.1 200 OK\r\n"));
  c.send("GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_THAT(c.response(), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(AdminServerTest, StopEndsOpenConnectionsAndTheLoop) {
  start();
  Client idle(port_);
  ASSERT_TRUE(idle.connected());
  Client busy(port_);
  busy.send("GET /healthz HTTP/1.1\r\n");  // half a head
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server_->stop();
  thread_.join();  // returns: the io_context ran out of work
  EXPECT_TRUE(idle.closed());
  EXPECT_TRUE(busy.closed());
  Client late(port_);
  EXPECT_FALSE(late.connected());
}

TEST(AdminServerBind, ClearErrorWhenTheAddressIsTaken) {
  asio::io_context ctx;
  AdminServer first(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), "", {});
  auto port = first.local_endpoint().port();
  try {
    AdminServer second(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), "", {});
    FAIL() << "bound twice";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "admin_listen 127.0.0.1:" + std::to_string(port) +
                                         ": cannot listen: Address already in use");
  }
}

}  // namespace
}  // namespace proxy::admin
