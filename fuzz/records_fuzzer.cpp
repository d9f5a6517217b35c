// Passeur's TLS record layer (tls/records/) reading what a client sends after the handshake.
//
// The input is a script. Its first byte picks the version (bit 0: TLS 1.3, else 1.2), the AEAD
// (bits 1-2), a read sequence number about to wrap (bit 3) and a small key usage limit (bit
// 4); its second the size of the reader's buffer. Then operations, each an opcode byte and its
// operands: a record sealed with the client's keys by the tests' RecordBuilder (any content
// type and plaintext, up to one byte more than the limit), a TLS 1.3 inner plaintext of any
// bytes and padding, raw bytes, a client KeyUpdate (the builder follows it), a write by the
// server, and a point where what was sent so far is read.
//
// Invariant: while the client sent only application data records sealed with its keys, the
// layer reads exactly their plaintexts, in order, and no error.

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "tests/unit/tls/hex.h"
#include "tests/unit/tls/records/record_builder.h"
#include "tls/records/record_layer.h"

namespace {

using tls::AeadKind;
using tls::DirectionKey;
using tls::RecordLayer;
using tls::testing::Bytes;
using tls::testing::kApplicationData;
using tls::testing::kHandshake;
using tls::testing::RecordBuilder;

// RFC 8448 section 3's application traffic secrets (SHA-256).
const Bytes kClientSecret =
    tls::testing::unhex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5");
const Bytes kServerSecret =
    tls::testing::unhex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643");

DirectionKey tls12_key(uint8_t fill, AeadKind kind) {
  DirectionKey key;
  key.key.fill(fill);
  key.iv.fill(static_cast<uint8_t>(fill + 1));
  key.iv_length = kind == AeadKind::Chacha20Poly1305 ? 12 : 4;
  return key;
}

DirectionKey tls13_key(AeadKind kind, const Bytes& secret) {
  DirectionKey key;
  if (!tls::tls13_traffic_key(EVP_sha256(), kind, secret, key)) std::abort();
  return key;
}

class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool empty() const { return p_ == end_; }
  uint8_t byte() { return p_ < end_ ? *p_++ : 0; }
  size_t be16() {
    const size_t hi = byte();
    return hi << 8 | byte();
  }
  // n bytes: as many as are left, then zeros.
  Bytes take(size_t n) {
    const size_t k = std::min<size_t>(n, static_cast<size_t>(end_ - p_));
    Bytes out(p_, p_ + k);
    p_ += k;
    out.resize(n, 0);
    return out;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

struct Sockets {
  int ours = -1;
  int theirs = -1;
  Sockets() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) std::abort();
    ours = fds[0];
    theirs = fds[1];
    ::fcntl(ours, F_SETFL, ::fcntl(ours, F_GETFL) | O_NONBLOCK);
    ::fcntl(theirs, F_SETFL, ::fcntl(theirs, F_GETFL) | O_NONBLOCK);
  }
  ~Sockets() {
    ::close(ours);
    ::close(theirs);
  }
};

class Run {
 public:
  Run(bool tls13, AeadKind kind, uint64_t read_sequence, size_t read_size)
      : layer_(tls13 ? RecordLayer::tls13(EVP_sha256(), kind, kClientSecret, kServerSecret,
                                          read_sequence, 0)
                     : RecordLayer::tls12(kind, tls12_key(1, kind), tls12_key(7, kind),
                                          read_sequence, 0)),
        client_(tls13, kind, tls13 ? tls13_key(kind, kClientSecret) : tls12_key(1, kind),
                read_sequence),
        server_(tls13, kind, tls13 ? tls13_key(kind, kServerSecret) : tls12_key(7, kind), 0),
        tls13_(tls13),
        kind_(kind),
        secret_(kClientSecret),
        server_secret_(kServerSecret),
        buf_(read_size) {
    if (!layer_) std::abort();
  }

  RecordLayer& layer() { return *layer_; }
  RecordBuilder& client() { return client_; }
  bool failed() const { return failed_; }

  // Sends these bytes, reading whenever the socket is full.
  void send(const Bytes& bytes) {
    for (size_t sent = 0; sent < bytes.size() && !failed_ && !eof_;) {
      const ssize_t n =
          ::send(sockets_.theirs, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        unread_ = true;
      } else if (n < 0 && errno == EAGAIN) {
        if (!drain()) return;  // the layer took nothing: it stopped reading
      } else {
        return;
      }
    }
  }

  // Reads until the layer wants more input; false when it read nothing.
  bool drain() {
    if (!unread_) return false;
    unread_ = false;
    discard_output();
    bool progress = false;
    while (!failed_ && !eof_) {
      const auto a = layer_->read(sockets_.ours, buf_.data(), buf_.size());
      if (a.ec == boost::asio::error::eof) {
        eof_ = true;
      } else if (a.ec) {
        failed_ = true;
      } else if (a.bytes == 0) {
        break;
      } else {
        read_.insert(read_.end(), buf_.data(), buf_.data() + a.bytes);
        if (read_.size() > expected_.size() && checking_) {
          std::fprintf(stderr, "read more plaintext than was sealed\n");
          std::abort();
        }
      }
      progress = true;
    }
    return progress;
  }

  // Receives what the layer sent and opens it with the server's keys (following the layer's own
  // KeyUpdates): every record must open, and its application data is what the layer took.
  void discard_output() {
    std::array<uint8_t, 16384> chunk;
    for (;;) {
      const ssize_t n = ::recv(sockets_.theirs, chunk.data(), chunk.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      sent_.insert(sent_.end(), chunk.data(), chunk.data() + n);
    }
    while (sent_.size() >= 5 && sent_.size() >= 5 + (size_t{sent_[3]} << 8 | sent_[4])) {
      uint8_t type = 0;
      Bytes content;
      if (!server_.open(sent_, type, content)) {
        std::fprintf(stderr, "the layer sent a record that does not open\n");
        std::abort();
      }
      if (type == kApplicationData) {
        written_.insert(written_.end(), content.begin(), content.end());
        if (written_.size() > accepted_.size() ||
            !std::equal(written_.begin(), written_.end(), accepted_.begin())) {
          std::fprintf(stderr, "the layer sent other application data than it was given\n");
          std::abort();
        }
      } else if (tls13_ && type == kHandshake && content.size() == 5 && content[0] == 24) {
        if (!tls::tls13_next_secret(EVP_sha256(), server_secret_)) std::abort();
        server_.rekey(tls13_key(kind_, server_secret_));
      }
    }
  }

  // A record of the client that the invariant follows (application data, sealed as it should
  // be), or one after which it no longer holds.
  void expect(uint8_t type, const Bytes& content) {
    if (type == kApplicationData && !content.empty() && content.size() <= tls::kMaxPlaintext) {
      expected_.insert(expected_.end(), content.begin(), content.end());
    } else {
      checking_ = false;
    }
  }
  void stop_checking() { checking_ = false; }

  // The server sends these bytes (the client's side discards them).
  void write(const Bytes& body) {
    discard_output();
    const boost::asio::const_buffer piece(body.data(), body.size());
    if (layer_->has_output()) layer_->flush(sockets_.ours);
    discard_output();
    if (!layer_->has_output()) {
      const auto a = layer_->write(sockets_.ours, {&piece, 1});
      if (!a.ec) accepted_.insert(accepted_.end(), body.begin(), body.begin() + a.bytes);
    }
    discard_output();
  }

  // The client's KeyUpdate, then its next keys.
  void key_update(uint8_t request) {
    const Bytes message = {24, 0, 0, 1, request};
    send(client_.record(kHandshake, message));
    checking_ = false;
    if (tls13_) {
      if (!tls::tls13_next_secret(EVP_sha256(), secret_)) std::abort();
      client_.rekey(tls13_key(kind_, secret_));
    }
  }

  void finish() {
    drain();
    if (layer_->has_output()) layer_->flush(sockets_.ours);
    discard_output();
    if (!layer_->has_output() && written_ != accepted_) {
      std::fprintf(stderr, "the layer took %zu bytes to send and sent %zu\n", accepted_.size(),
                   written_.size());
      std::abort();
    }
    if (checking_ && (failed_ || eof_ || read_ != expected_)) {
      std::fprintf(stderr, "sealed %zu bytes of application data, read %zu%s\n", expected_.size(),
                   read_.size(), failed_ ? " and an error" : "");
      std::abort();
    }
  }

 private:
  Sockets sockets_;
  std::unique_ptr<RecordLayer> layer_;
  RecordBuilder client_;
  RecordBuilder server_;  // opens what the layer sends
  bool tls13_;
  AeadKind kind_;
  Bytes secret_;
  Bytes server_secret_;
  Bytes sent_;      // received from the layer, not opened yet
  Bytes accepted_;  // plaintext the layer's writes took
  Bytes written_;   // application data opened from its records
  std::vector<uint8_t> buf_;
  Bytes expected_;
  Bytes read_;
  bool checking_ = true;
  bool failed_ = false;
  bool eof_ = false;
  bool unread_ = false;  // bytes sent since the layer last read everything
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t mode = in.byte();
  const bool tls13 = (mode & 1) != 0;
  const auto kind = static_cast<AeadKind>((mode >> 1 & 3) % 3);
  const uint64_t read_sequence = (mode & 8) != 0 ? UINT64_MAX - 2 : 0;
  const size_t read_size = 1 + static_cast<size_t>(in.byte()) * 80;
  Run run(tls13, kind, read_sequence, read_size);
  if ((mode & 16) != 0) run.layer().set_records_per_key(2);
  if (read_sequence != 0) run.stop_checking();

  while (!in.empty() && !run.failed()) {
    switch (in.byte() % 7) {
      case 0: {  // a record sealed with the client's keys
        const uint8_t type = in.byte();
        const size_t length = std::min<size_t>(in.be16(), tls::kMaxPlaintext + 1);
        const Bytes content = in.take(length);
        run.expect(type, content);
        run.send(run.client().record(type, content));
        break;
      }
      case 1: {  // TLS 1.3: content, type and padding
        const uint8_t type = in.byte();
        const Bytes content = in.take(in.byte());
        const size_t padding = in.be16() & 0x7fff;
        run.stop_checking();
        run.send(tls13 ? run.client().tls13(type, content, padding)
                       : run.client().tls12(type, content));
        break;
      }
      case 2: {  // raw bytes
        run.stop_checking();
        run.send(in.take(in.byte()));
        break;
      }
      case 3:
        run.drain();
        break;
      case 4:
        run.key_update(in.byte() % 4 == 0 ? 1 : 0);
        break;
      case 5: {  // TLS 1.3: an inner plaintext of any bytes, under any outer type
        const uint8_t outer = in.byte() % 4 == 0 ? in.byte() : kApplicationData;
        const Bytes inner = in.take(in.byte());
        run.stop_checking();
        if (tls13) {
          run.send(run.client().tls13_inner(inner, outer));
        } else {
          run.send(run.client().tls12(outer, inner));
        }
        break;
      }
      case 6: {  // the server writes
        const Bytes body = in.take(in.be16() % (3 * tls::kMaxPlaintext));
        run.write(body);
        break;
      }
    }
  }
  run.finish();
  return 0;
}
