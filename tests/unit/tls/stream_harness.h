#pragma once

// What the TLS stream tests share: a loopback TCP pair, coroutine helpers that fail the test on
// errors, a self-signed identity for "localhost".

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <exception>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "tls/tls_stream.h"

namespace tls::testing {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// An EC P-256 key and a self-signed certificate for "localhost", valid for a day.
inline std::pair<EVP_PKEY*, X509*> localhost_identity() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_set_pubkey(cert, key);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:localhost");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert, key, EVP_sha256());
  return {key, cert};
}

inline std::pair<tcp::socket, tcp::socket> tcp_pair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  return {acceptor.accept(), std::move(client)};
}

// The coroutine function lives in the spawned frame, so its captures outlive the statement.
template <class F>
void spawn(asio::io_context& io, F f) {
  asio::co_spawn(io, std::move(f), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

// Runs until every coroutine is done; fails the test if that takes too long.
inline void run(asio::io_context& io) {
  io.run_for(30s);
  EXPECT_TRUE(io.stopped()) << "timed out";
}

inline awaitable<void> write_all(tls::Stream& s, std::string_view data) {
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(data), use_tuple);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(n, data.size());
}

inline awaitable<std::string> read_exactly(tls::Stream& s, size_t size) {
  std::string out;
  std::array<char, 7001> buf;  // not a multiple of the record size
  while (out.size() < size) {
    const size_t want = std::min(buf.size(), size - out.size());
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf.data(), want), use_tuple);
    if (ec) {
      ADD_FAILURE() << "read after " << out.size() << " bytes: " << ec.message();
      break;
    }
    EXPECT_GT(n, 0u);
    out.append(buf.data(), n);
  }
  co_return out;
}

// Sends back the next `size` bytes as they arrive.
inline awaitable<void> echo(tls::Stream& s, size_t size) {
  std::array<char, 5000> buf;
  size_t done = 0;
  while (done < size) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
    if (ec) {
      ADD_FAILURE() << "echo read: " << ec.message();
      co_return;
    }
    auto [wec, wn] = co_await asio::async_write(s, asio::buffer(buf.data(), n), use_tuple);
    if (wec) {
      ADD_FAILURE() << "echo write: " << wec.message();
      co_return;
    }
    done += wn;
  }
}

// Writes `data` while reading the same amount back; returns what came back.
inline awaitable<std::string> round_trip(tls::Stream& s, const std::string& data) {
  std::string back;
  auto reader = [&]() -> awaitable<void> { back = co_await read_exactly(s, data.size()); };
  co_await (write_all(s, data) && reader());
  co_return back;
}

inline std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

// ---- Tests -------------------------------------------------------------------------------------
}  // namespace tls::testing
