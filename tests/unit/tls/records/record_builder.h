#pragma once

// The records a TLS peer sends, byte for byte, for the record layer's tests: any content type,
// length, padding or inner plaintext, sealed with OpenSSL's AEAD (EVP) as RFC 8446 section 5.2
// (TLS 1.3) and RFC 5288 / RFC 7905 (TLS 1.2) describe. Written out here rather than with the
// record layer's own cipher, so that the tests do not check that code against itself. Also
// opens the records the layer sends back.

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "tls/records/traffic_keys.h"

namespace tls::testing {

using Bytes = std::vector<uint8_t>;

// Record content types.
constexpr uint8_t kChangeCipherSpec = 20;
constexpr uint8_t kAlert = 21;
constexpr uint8_t kHandshake = 22;
constexpr uint8_t kApplicationData = 23;

inline Bytes bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

class RecordBuilder {
 public:
  RecordBuilder(bool tls13, AeadKind kind, const DirectionKey& key, uint64_t sequence = 0)
      : tls13_(tls13), kind_(kind), key_(key), seq_(sequence) {}

  void rekey(const DirectionKey& key) {
    key_ = key;
    seq_ = 0;
  }
  uint64_t sequence() const { return seq_; }

  // TLS 1.3: a record whose inner plaintext is content || type || `padding` zeros.
  Bytes tls13(uint8_t type, std::span<const uint8_t> content, size_t padding = 0) {
    Bytes inner(content.begin(), content.end());
    inner.push_back(type);
    inner.resize(inner.size() + padding, 0);
    return tls13_inner(inner);
  }

  // TLS 1.3: a record with exactly this inner plaintext (no content type added).
  Bytes tls13_inner(std::span<const uint8_t> inner, uint8_t outer_type = 23) {
    const size_t length = inner.size() + kTag;
    Bytes record = {outer_type, 3, 3, static_cast<uint8_t>(length >> 8),
                    static_cast<uint8_t>(length)};
    std::array<uint8_t, 12> nonce = key_.iv;
    xor_sequence(nonce, seq_++);
    const std::array<uint8_t, 5> header = {record[0], record[1], record[2], record[3], record[4]};
    seal(nonce, header, inner, record);
    return record;
  }

  // TLS 1.2: a record of this type and plaintext.
  Bytes tls12(uint8_t type, std::span<const uint8_t> content) {
    const bool explicit_nonce = kind_ != AeadKind::Chacha20Poly1305;
    const size_t length = content.size() + kTag + (explicit_nonce ? 8 : 0);
    Bytes record;
    record.reserve(5 + length);
    for (uint8_t b : {type, uint8_t{3}, uint8_t{3}, static_cast<uint8_t>(length >> 8),
                      static_cast<uint8_t>(length)}) {
      record.push_back(b);
    }
    std::array<uint8_t, 12> nonce = key_.iv;
    const uint64_t seq = seq_++;
    if (explicit_nonce) {
      put_be64(nonce.data() + 4, seq);
      for (size_t i = 4; i < nonce.size(); ++i) record.push_back(nonce[i]);
    } else {
      xor_sequence(nonce, seq);
    }
    std::array<uint8_t, 13> aad{};
    put_be64(aad.data(), seq);
    aad[8] = type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = static_cast<uint8_t>(content.size() >> 8);
    aad[12] = static_cast<uint8_t>(content.size());
    seal(nonce, aad, content, record);
    return record;
  }

  Bytes record(uint8_t type, std::span<const uint8_t> content) {
    return tls13_ ? tls13(type, content) : tls12(type, content);
  }

  // Opens the first record of `in` (removed from it): false when there is none whole or it does
  // not authenticate.
  bool open(Bytes& in, uint8_t& type, Bytes& content) {
    if (in.size() < 5) return false;
    const size_t length = static_cast<size_t>(in[3]) << 8 | in[4];
    if (in.size() < 5 + length || length < kTag) return false;
    const Bytes record(in.begin(), in.begin() + 5 + static_cast<std::ptrdiff_t>(length));
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(record.size()));
    std::array<uint8_t, 12> nonce = key_.iv;
    const uint8_t* body = record.data() + 5;
    size_t body_size = length;
    Bytes aad;
    if (tls13_) {
      xor_sequence(nonce, seq_++);
      aad.assign(record.begin(), record.begin() + 5);
    } else {
      const uint64_t seq = seq_++;
      if (kind_ != AeadKind::Chacha20Poly1305) {
        if (body_size < kTag + 8) return false;
        std::memcpy(nonce.data() + 4, body, 8);
        body += 8;
        body_size -= 8;
      } else {
        xor_sequence(nonce, seq);
      }
      aad.resize(13);
      put_be64(aad.data(), seq);
      aad[8] = record[0];
      aad[9] = 3;
      aad[10] = 3;
      aad[11] = static_cast<uint8_t>((body_size - kTag) >> 8);
      aad[12] = static_cast<uint8_t>(body_size - kTag);
    }
    Bytes plain(body_size - kTag);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    const bool ok =
        EVP_DecryptInit_ex(ctx, aead_cipher(kind_), nullptr, key_.key.data(), nonce.data()) == 1 &&
        EVP_DecryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
        EVP_DecryptUpdate(ctx, plain.data(), &n, body, static_cast<int>(plain.size())) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTag,
                            const_cast<uint8_t*>(body + plain.size())) == 1 &&
        EVP_DecryptFinal_ex(ctx, plain.data() + n, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) return false;
    if (tls13_) {
      while (!plain.empty() && plain.back() == 0) plain.pop_back();
      if (plain.empty()) return false;
      type = plain.back();
      plain.pop_back();
    } else {
      type = record[0];
    }
    content = std::move(plain);
    return true;
  }

 private:
  static constexpr size_t kTag = 16;

  static void put_be64(uint8_t* p, uint64_t v) {
    for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
  }
  static void xor_sequence(std::array<uint8_t, 12>& nonce, uint64_t seq) {
    for (int i = 11; i >= 4; --i, seq >>= 8)
      nonce[static_cast<size_t>(i)] ^= static_cast<uint8_t>(seq);
  }

  void seal(const std::array<uint8_t, 12>& nonce, std::span<const uint8_t> aad,
            std::span<const uint8_t> plain, Bytes& out) {
    const size_t start = out.size();
    out.resize(start + plain.size() + kTag);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    EVP_EncryptInit_ex(ctx, aead_cipher(kind_), nullptr, key_.key.data(), nonce.data());
    EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size()));
    if (!plain.empty()) {
      EVP_EncryptUpdate(ctx, out.data() + start, &n, plain.data(), static_cast<int>(plain.size()));
    }
    EVP_EncryptFinal_ex(ctx, out.data() + start + plain.size(), &n);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTag, out.data() + start + plain.size());
    EVP_CIPHER_CTX_free(ctx);
  }

  bool tls13_;
  AeadKind kind_;
  DirectionKey key_;
  uint64_t seq_;
};

// A connected pair of stream sockets: the layer's end non-blocking, the peer's end blocking.
struct SocketPair {
  int ours = -1;
  int theirs = -1;
  SocketPair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
      ours = fds[0];
      theirs = fds[1];
      ::fcntl(ours, F_SETFL, ::fcntl(ours, F_GETFL) | O_NONBLOCK);
    }
  }
  ~SocketPair() {
    if (ours >= 0) ::close(ours);
    if (theirs >= 0) ::close(theirs);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;

  void send(std::span<const uint8_t> data) const {
    for (size_t sent = 0; sent < data.size();) {
      const ssize_t n = ::send(theirs, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }
  // What the layer has sent so far.
  Bytes received() const {
    Bytes out;
    std::array<uint8_t, 65536> buf;
    for (;;) {
      const ssize_t n = ::recv(theirs, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      out.insert(out.end(), buf.data(), buf.data() + n);
    }
    return out;
  }
};

}  // namespace tls::testing
