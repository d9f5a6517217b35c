#pragma once

// A record layer under test on one end of a socket pair: what the client sends is sealed by
// `client`, what the layer sends back is opened by `server` (record_builder.h). Shared by the
// TLS 1.2 and TLS 1.3 record tests.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <array>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/unit/tls/records/record_builder.h"
#include "tls/records/record_layer.h"

namespace tls::testing {

constexpr int kNoAlert = -1;

// OpenSSL's reason string for a record layer error ("bad record mac"), else the message.
inline std::string reason(const boost::system::error_code& ec) {
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr);
  const char* r = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
  return r != nullptr ? r : ec.message();
}

// What the layer made of the bytes it was sent.
struct Outcome {
  std::string data;
  boost::system::error_code ec;
};

class LayerFixture : public ::testing::Test {
 protected:
  LayerFixture(std::unique_ptr<RecordLayer> layer_under_test, RecordBuilder client_side,
               RecordBuilder server_side)
      : layer(std::move(layer_under_test)), client(client_side), server(server_side) {}

  void SetUp() override { ASSERT_NE(layer, nullptr); }

  // Sends these records to the layer, then reads until it wants more or fails.
  Outcome feed(const std::vector<Bytes>& records) {
    for (const Bytes& r : records) sockets.send(r);
    Outcome o;
    std::array<char, 70000> buf;
    for (;;) {
      const auto a = layer->read(sockets.ours, buf.data(), buf.size());
      if (a.ec) {
        o.ec = a.ec;
        break;
      }
      if (a.bytes == 0) break;
      o.data.append(buf.data(), a.bytes);
    }
    return o;
  }

  // The layer writes `text` as the server's application data.
  detail::Attempt write(std::string_view text) {
    const boost::asio::const_buffer piece(text.data(), text.size());
    return layer->write(sockets.ours, {&piece, 1});
  }

  // The records the layer sent since the last call, opened (each one told to opened()).
  std::vector<std::pair<uint8_t, Bytes>> sent() {
    Bytes in = sockets.received();
    std::vector<std::pair<uint8_t, Bytes>> out;
    uint8_t type = 0;
    Bytes content;
    while (!in.empty()) {
      if (!server.open(in, type, content)) {
        ADD_FAILURE() << "the layer sent a record that does not open";
        break;
      }
      out.emplace_back(type, content);
      opened(type, content);
    }
    return out;
  }

  // Every alert the layer sent since the last call, as (level, description).
  std::vector<std::pair<int, int>> alerts_sent() {
    std::vector<std::pair<int, int>> alerts;
    for (const auto& [type, content] : sent()) {
      if (type == kAlert && content.size() == 2) alerts.emplace_back(content[0], content[1]);
    }
    return alerts;
  }

  // The description of the last fatal alert the layer sent, kNoAlert for none.
  int alert_sent() {
    int alert = kNoAlert;
    for (const auto& [level, description] : alerts_sent()) {
      if (level == 2) alert = description;
    }
    return alert;
  }

  SocketPair sockets;
  std::unique_ptr<RecordLayer> layer;
  RecordBuilder client;  // seals what the client sends
  RecordBuilder server;  // opens what the layer sends

 private:
  // A record the layer sent was opened (TLS 1.3 follows the layer's KeyUpdates here).
  virtual void opened(uint8_t /*type*/, const Bytes& /*content*/) {}
};

}  // namespace tls::testing
