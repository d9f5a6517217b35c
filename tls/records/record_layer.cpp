#include "tls/records/record_layer.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sslerr.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <cstring>

namespace tls {
namespace {

using boost::system::error_code;
using detail::Attempt;
using detail::Want;

constexpr uint8_t kAlertWarning = 1;
constexpr uint8_t kAlertFatal = 2;
constexpr uint8_t kCloseNotify = 0;
constexpr uint8_t kUnexpectedMessage = 10;
constexpr uint8_t kBadRecordMac = 20;
constexpr uint8_t kRecordOverflow = 22;
constexpr uint8_t kDecodeError = 50;
constexpr uint8_t kInternalError = 80;
constexpr uint8_t kUserCanceled = 90;
constexpr uint8_t kKeyUpdate = 24;

// Read: records of up to four full records per recv(2). Write: four sealed records.
constexpr size_t kReadScratch = 4 * kMaxRecord;
constexpr size_t kSealedRecord = kMaxPlaintext + 64;

uint8_t* read_scratch() {
  thread_local std::array<uint8_t, kReadScratch> buffer;
  return buffer.data();
}

uint8_t* write_scratch() {
  thread_local std::array<uint8_t, RecordLayer::kRecordsPerWrite * kSealedRecord> buffer;
  return buffer.data();
}

// OpenSSL's own error codes, so that logs and metrics read the same as for OpenSSL's records.
error_code ssl_error(int reason) {
  return {static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)),
          boost::asio::error::get_ssl_category()};
}

void release(std::vector<uint8_t>& v) {
  std::vector<uint8_t>().swap(v);
}

// send(2) without SIGPIPE; the bytes sent, 0 when the socket is full, -1 with errno otherwise.
ssize_t send_some(int fd, const uint8_t* data, size_t size) {
  for (;;) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

size_t be16(const uint8_t* p) {
  return static_cast<size_t>(p[0]) << 8 | p[1];
}

}  // namespace

std::unique_ptr<RecordLayer> RecordLayer::take_over(SSL* ssl, const CapturedSecrets& captured,
                                                    std::span<const unsigned char> received) {
  if (SSL_has_pending(ssl) != 0) return nullptr;
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  AeadKind kind{};
  if (cipher == nullptr || !aead_from_nid(SSL_CIPHER_get_cipher_nid(cipher), kind)) return nullptr;
  const EVP_MD* md = SSL_CIPHER_get_handshake_digest(cipher);
  if (md == nullptr || aead_cipher(kind) == nullptr) return nullptr;

  std::unique_ptr<RecordLayer> layer(new RecordLayer);
  layer->md_ = md;
  layer->kind_ = kind;
  DirectionKey client;
  DirectionKey server;
  bool ok = false;
  switch (SSL_version(ssl)) {
    case TLS1_3_VERSION: {
      const auto size = static_cast<size_t>(EVP_MD_get_size(md));
      if (captured.client_size != size || captured.server_size != size) return nullptr;
      layer->tls13_ = true;
      layer->secret_size_ = size;
      layer->read_secret_ = captured.client;
      layer->write_secret_ = captured.server;
      // The client's first application record is its first under this key; the server has
      // sent its session tickets under its own.
      ok = tls13_traffic_key(md, kind, {captured.client.data(), size}, client) &&
           tls13_traffic_key(md, kind, {captured.server.data(), size}, server) &&
           layer->read_.init(kind, true, false, client, 0) &&
           layer->write_.init(kind, true, true, server, captured.tickets_sent);
      break;
    }
    case TLS1_2_VERSION: {
      std::array<uint8_t, SSL_MAX_MASTER_KEY_LENGTH> master{};
      std::array<uint8_t, SSL3_RANDOM_SIZE> client_random{};
      std::array<uint8_t, SSL3_RANDOM_SIZE> server_random{};
      const size_t master_size =
          SSL_SESSION_get_master_key(SSL_get_session(ssl), master.data(), master.size());
      layer->tls13_ = false;
      // Each side's Finished was record 0 under the new keys.
      ok = master_size != 0 &&
           SSL_get_client_random(ssl, client_random.data(), client_random.size()) ==
               client_random.size() &&
           SSL_get_server_random(ssl, server_random.data(), server_random.size()) ==
               server_random.size() &&
           tls12_traffic_keys(md, kind, {master.data(), master_size}, client_random, server_random,
                              client, server) &&
           layer->read_.init(kind, false, false, client, 1) &&
           layer->write_.init(kind, false, true, server, 1);
      OPENSSL_cleanse(master.data(), master.size());
      break;
    }
    default:
      break;
  }
  OPENSSL_cleanse(&client, sizeof client);
  OPENSSL_cleanse(&server, sizeof server);
  if (!ok) return nullptr;
  layer->keep_input(received.data(), received.size());
  return layer;
}

RecordLayer::~RecordLayer() {
  OPENSSL_cleanse(read_secret_.data(), read_secret_.size());
  OPENSSL_cleanse(write_secret_.data(), write_secret_.size());
}

Attempt RecordLayer::read(int fd, void* data, size_t size) {
  auto* out = static_cast<uint8_t*>(data);
  if (plain_off_ < plain_.size()) {
    const size_t n = std::min(size, plain_.size() - plain_off_);
    std::memcpy(out, plain_.data() + plain_off_, n);
    plain_off_ += n;
    if (plain_off_ == plain_.size()) {
      release(plain_);
      plain_off_ = 0;
    }
    return {.bytes = n};
  }
  if (failed_) return {failed_};
  if (peer_closed_) return {boost::asio::error::eof};

  uint8_t* buf = read_scratch();
  size_t len = rx_.size();
  if (len != 0) std::memcpy(buf, rx_.data(), len);
  release(rx_);
  size_t pos = 0;
  size_t got = 0;
  for (;;) {
    while (got < size && !peer_closed_ && len - pos >= kRecordHeader) {
      const size_t record = kRecordHeader + be16(buf + pos + 3);
      if (record > kMaxRecord) {
        failed_ = fail(fd, kRecordOverflow, SSL_R_ENCRYPTED_LENGTH_TOO_LONG);
        break;
      }
      if (len - pos < record) break;
      error_code ec = open_record(fd, buf + pos, record, out, size, got);
      pos += record;
      if (ec) {
        failed_ = ec;
        break;
      }
    }
    if (got > 0 || failed_ || peer_closed_) {
      if (!failed_) keep_input(buf + pos, len - pos);
      if (got > 0) return {.bytes = got};
      if (failed_) return {failed_};
      return {boost::asio::error::eof};
    }
    std::memmove(buf, buf + pos, len - pos);
    len -= pos;
    pos = 0;
    // Enough for the reader's room in full records, within the scratch buffer.
    const size_t want = std::min(kReadScratch - len, std::max(size, kMaxPlaintext) + 2 * 1024);
    const ssize_t n = ::recv(fd, buf + len, want, 0);
    if (n > 0) {
      len += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {  // a FIN, with or without close_notify: the protocol above tells truncation
      peer_closed_ = true;
      return {boost::asio::error::eof};
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      keep_input(buf, len);
      return {.want = Want::read};
    }
    return {error_code(errno, boost::system::system_category())};
  }
}

void RecordLayer::keep_input(const uint8_t* data, size_t size) {
  if (size != 0) rx_.assign(data, data + size);
}

error_code RecordLayer::open_record(int fd, uint8_t* record, size_t size, uint8_t* out, size_t room,
                                    size_t& got) {
  if (record[1] != 3 || record[2] != 3) return fail(fd, kDecodeError, SSL_R_WRONG_VERSION_NUMBER);
  uint8_t type = 0;
  uint8_t* plain = nullptr;
  size_t n = 0;
  if (!read_.open(record, size, type, plain, n)) {
    return fail(fd, kBadRecordMac, SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC);
  }
  switch (type) {
    case kContentApplicationData: {
      const size_t k = std::min(n, room - got);
      std::memcpy(out + got, plain, k);
      got += k;
      if (k < n) {
        plain_.assign(plain + k, plain + n);
        plain_off_ = 0;
      }
      return {};
    }
    case kContentAlert:
      return on_alert(plain, n);
    case kContentHandshake:
      return on_handshake(fd, plain, n);
    default:
      return fail(fd, kUnexpectedMessage, SSL_R_UNEXPECTED_RECORD);
  }
}

error_code RecordLayer::on_alert(const uint8_t* body, size_t size) {
  if (size != 2) return ssl_error(SSL_R_BAD_LENGTH);
  const uint8_t level = body[0];
  const uint8_t description = body[1];
  if (description == kCloseNotify) {
    peer_closed_ = true;
    return {};
  }
  if (description == kUserCanceled || (!tls13_ && level == kAlertWarning)) return {};
  return ssl_error(SSL_AD_REASON_OFFSET + description);
}

error_code RecordLayer::on_handshake(int fd, const uint8_t* body, size_t size) {
  // TLS 1.2: a new handshake (renegotiation), which this server does not do.
  if (!tls13_) return fail(fd, kUnexpectedMessage, SSL_R_NO_RENEGOTIATION);
  // TLS 1.3: only KeyUpdate may come from a client, and it ends its record (RFC 8446 5.1).
  if (size != 5 || body[0] != kKeyUpdate || body[1] != 0 || body[2] != 0 || body[3] != 1 ||
      body[4] > 1) {
    return fail(fd, kUnexpectedMessage, SSL_R_UNEXPECTED_MESSAGE);
  }
  DirectionKey key;
  bool ok = tls13_next_secret(md_, {read_secret_.data(), secret_size_}) &&
            tls13_traffic_key(md_, kind_, {read_secret_.data(), secret_size_}, key) &&
            read_.rekey(key);
  if (ok && body[4] == 1) {
    // update_requested: our own KeyUpdate (not requesting one), then our new key.
    static constexpr uint8_t kUpdateNotRequested[5] = {kKeyUpdate, 0, 0, 1, 0};
    ok = queue(kContentHandshake, kUpdateNotRequested, sizeof kUpdateNotRequested) &&
         tls13_next_secret(md_, {write_secret_.data(), secret_size_}) &&
         tls13_traffic_key(md_, kind_, {write_secret_.data(), secret_size_}, key) &&
         write_.rekey(key);
    if (ok) flush(fd);  // best effort; a pending write or the next one sends the rest
  }
  OPENSSL_cleanse(&key, sizeof key);
  if (!ok) return fail(fd, kInternalError, ERR_R_INTERNAL_ERROR);
  return {};
}

error_code RecordLayer::fail(int fd, uint8_t alert, int reason) {
  // Tell the peer why, if the socket takes it now; the connection ends anyway.
  if (!close_sent_) {
    const uint8_t body[2] = {kAlertFatal, alert};
    close_sent_ = true;
    if (queue(kContentAlert, body, sizeof body)) flush(fd);
  }
  return ssl_error(reason);
}

bool RecordLayer::queue(uint8_t type, const uint8_t* body, size_t size) {
  const boost::asio::const_buffer piece(body, size);
  std::array<uint8_t, 64> sealed{};
  const size_t n = write_.seal(type, {&piece, 1}, sealed.data());
  if (n == 0) return false;
  if (tx_off_ == tx_.size()) {
    tx_.clear();
    tx_off_ = 0;
  }
  tx_.insert(tx_.end(), sealed.data(), sealed.data() + n);
  return true;
}

Attempt RecordLayer::write(int fd, std::span<const boost::asio::const_buffer> pieces) {
  uint8_t* out = write_scratch();
  size_t sealed = 0;
  size_t consumed = 0;
  size_t index = 0;
  size_t offset = 0;  // into pieces[index]
  for (size_t r = 0; r < kRecordsPerWrite && index < pieces.size(); ++r) {
    // The next record's plaintext: up to kMaxPlaintext bytes of the pieces, as sub-buffers.
    std::array<boost::asio::const_buffer, 16> record;
    size_t count = 0;
    size_t plain = 0;
    while (index < pieces.size() && count < record.size() && plain < kMaxPlaintext) {
      const auto* base = static_cast<const uint8_t*>(pieces[index].data());
      const size_t take = std::min(pieces[index].size() - offset, kMaxPlaintext - plain);
      if (take > 0) record[count++] = boost::asio::const_buffer(base + offset, take);
      plain += take;
      offset += take;
      if (offset == pieces[index].size()) {
        ++index;
        offset = 0;
      }
    }
    if (plain == 0) break;
    const size_t n = write_.seal(kContentApplicationData, {record.data(), count}, out + sealed);
    if (n == 0) return {ssl_error(ERR_R_INTERNAL_ERROR)};
    sealed += n;
    consumed += plain;
  }
  if (sealed == 0) return {};
  const ssize_t n = send_some(fd, out, sealed);
  if (n < 0) return {error_code(errno, boost::system::system_category())};
  if (static_cast<size_t>(n) < sealed) {
    tx_.assign(out + n, out + sealed);
    tx_off_ = 0;
  }
  return {.bytes = consumed};
}

Attempt RecordLayer::flush(int fd) {
  while (tx_off_ < tx_.size()) {
    const ssize_t n = send_some(fd, tx_.data() + tx_off_, tx_.size() - tx_off_);
    if (n < 0) return {error_code(errno, boost::system::system_category())};
    if (n == 0) return {.want = Want::write};
    tx_off_ += static_cast<size_t>(n);
  }
  release(tx_);
  tx_off_ = 0;
  return {};
}

Attempt RecordLayer::shutdown(int fd) {
  if (!close_sent_) {
    static constexpr uint8_t kClose[2] = {kAlertWarning, kCloseNotify};
    close_sent_ = true;
    if (!queue(kContentAlert, kClose, sizeof kClose)) return {ssl_error(ERR_R_INTERNAL_ERROR)};
  }
  return flush(fd);
}

}  // namespace tls
