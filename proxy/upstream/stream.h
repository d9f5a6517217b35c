// The stream to a node: a TCP socket, or a TLS stream over it when the pool re-encrypts.
// One type for both, so the fronts' relay code is the same either way; the choice is made per
// connection at run time (dial.h starts TLS after the connect).
#pragma once

#include <memory>

#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "tls/tls_stream.h"

namespace proxy::upstream {

class Stream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using next_layer_type = boost::asio::ip::tcp::socket;
  using lowest_layer_type = boost::asio::ip::tcp::socket;

  explicit Stream(executor_type ex) : plain_(std::move(ex)) {}

  executor_type get_executor() { return plain_.get_executor(); }
  lowest_layer_type& lowest_layer() { return tls_ ? tls_->lowest_layer() : plain_; }
  next_layer_type& next_layer() { return lowest_layer(); }
  bool is_tls() const { return tls_ != nullptr; }
  tls::Stream* tls() { return tls_.get(); }

  // After the TCP connect: wraps the socket in TLS (takes ownership of ssl).
  void start_tls(SSL* ssl) { tls_ = std::make_unique<tls::Stream>(std::move(plain_), ssl); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& b, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (tls_)
            tls_->async_read_some(b, std::move(handler));
          else
            plain_.async_read_some(b, std::move(handler));
        },
        token, b);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& b, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (tls_)
            tls_->async_write_some(b, std::move(handler));
          else
            plain_.async_write_some(b, std::move(handler));
        },
        token, b);
  }

 private:
  boost::asio::ip::tcp::socket plain_;
  std::unique_ptr<tls::Stream> tls_;
};

}  // namespace proxy::upstream
