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

// Alert levels and descriptions (RFC 8446 section 6).
constexpr uint8_t kAlertWarning = 1;
constexpr uint8_t kAlertFatal = 2;
constexpr uint8_t kCloseNotify = 0;
constexpr uint8_t kUnexpectedMessage = 10;
constexpr uint8_t kBadRecordMac = 20;
constexpr uint8_t kRecordOverflow = 22;
constexpr uint8_t kHandshakeFailure = 40;
constexpr uint8_t kIllegalParameter = 47;
constexpr uint8_t kDecodeError = 50;
constexpr uint8_t kProtocolVersion = 70;
constexpr uint8_t kInternalError = 80;
constexpr uint8_t kUserCanceled = 90;
constexpr uint8_t kNoRenegotiation = 100;
constexpr uint8_t kClientHello = 1;  // handshake message types
constexpr uint8_t kKeyUpdate = 24;

// OpenSSL 3.0's limits: warning alerts in a row, empty records in a row.
constexpr uint8_t kMaxWarningAlerts = 5;
constexpr uint8_t kMaxEmptyRecords = 32;

// Read: records of up to four full records per recv(2). Write: four sealed records, each
// possibly after a KeyUpdate of ours.
constexpr size_t kReadScratch = 4 * kMaxRecord;
constexpr size_t kSealedRecord = kMaxPlaintext + 64;
constexpr size_t kSealedControl = 64;  // an alert or a KeyUpdate, sealed

uint8_t* read_scratch() {
  thread_local std::array<uint8_t, kReadScratch> buffer;
  return buffer.data();
}

uint8_t* write_scratch() {
  thread_local std::array<uint8_t, RecordLayer::kRecordsPerWrite*(kSealedRecord + kSealedControl)>
      buffer;
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

size_t be24(const uint8_t* p) {
  return static_cast<size_t>(p[0]) << 16 | static_cast<size_t>(p[1]) << 8 | p[2];
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

  std::unique_ptr<RecordLayer> layer;
  switch (SSL_version(ssl)) {
    case TLS1_3_VERSION:
      // The client's first application record is its first under this key; the server has
      // sent its session tickets under its own.
      layer = tls13(md, kind, {captured.client.data(), captured.client_size},
                    {captured.server.data(), captured.server_size}, 0, captured.tickets_sent);
      break;
    case TLS1_2_VERSION: {
      // The server's Finished was its record 0 under the new keys; the client's Finished took
      // one record or more, counted by the read BIO.
      const long client_records =
          BIO_ctrl(SSL_get_rbio(ssl), kBioCtrlRecordsAfterChangeCipherSpec, 0, nullptr);
      if (client_records <= 0) return nullptr;
      std::array<uint8_t, SSL_MAX_MASTER_KEY_LENGTH> master{};
      std::array<uint8_t, SSL3_RANDOM_SIZE> client_random{};
      std::array<uint8_t, SSL3_RANDOM_SIZE> server_random{};
      DirectionKey client;
      DirectionKey server;
      const size_t master_size =
          SSL_SESSION_get_master_key(SSL_get_session(ssl), master.data(), master.size());
      if (master_size != 0 &&
          SSL_get_client_random(ssl, client_random.data(), client_random.size()) ==
              client_random.size() &&
          SSL_get_server_random(ssl, server_random.data(), server_random.size()) ==
              server_random.size() &&
          tls12_traffic_keys(md, kind, {master.data(), master_size}, client_random, server_random,
                             client, server)) {
        layer = tls12(kind, client, server, static_cast<uint64_t>(client_records), 1);
      }
      OPENSSL_cleanse(master.data(), master.size());
      OPENSSL_cleanse(&client, sizeof client);
      OPENSSL_cleanse(&server, sizeof server);
      break;
    }
    default:
      break;
  }
  if (layer) layer->keep_input(received.data(), received.size());
  return layer;
}

std::unique_ptr<RecordLayer> RecordLayer::tls13(const EVP_MD* md, AeadKind kind,
                                                std::span<const uint8_t> client_secret,
                                                std::span<const uint8_t> server_secret,
                                                uint64_t read_sequence, uint64_t write_sequence) {
  if (md == nullptr || aead_cipher(kind) == nullptr) return nullptr;
  const auto size = static_cast<size_t>(EVP_MD_get_size(md));
  if (size == 0 || size > kMaxSecret || client_secret.size() != size ||
      server_secret.size() != size) {
    return nullptr;
  }
  std::unique_ptr<RecordLayer> layer(new RecordLayer);
  layer->md_ = md;
  layer->kind_ = kind;
  layer->tls13_ = true;
  layer->secret_size_ = size;
  layer->records_per_key_ = kind == AeadKind::Chacha20Poly1305 ? UINT64_MAX : kAesGcmRecordsPerKey;
  std::memcpy(layer->read_secret_.data(), client_secret.data(), size);
  std::memcpy(layer->write_secret_.data(), server_secret.data(), size);
  DirectionKey client;
  DirectionKey server;
  const bool ok = tls13_traffic_key(md, kind, client_secret, client) &&
                  tls13_traffic_key(md, kind, server_secret, server) &&
                  layer->read_.init(kind, true, false, client, read_sequence) &&
                  layer->write_.init(kind, true, true, server, write_sequence);
  OPENSSL_cleanse(&client, sizeof client);
  OPENSSL_cleanse(&server, sizeof server);
  if (!ok) return nullptr;
  return layer;
}

std::unique_ptr<RecordLayer> RecordLayer::tls12(AeadKind kind, const DirectionKey& client,
                                                const DirectionKey& server, uint64_t read_sequence,
                                                uint64_t write_sequence) {
  if (aead_cipher(kind) == nullptr) return nullptr;
  std::unique_ptr<RecordLayer> layer(new RecordLayer);
  layer->kind_ = kind;
  layer->tls13_ = false;
  if (!layer->read_.init(kind, false, false, client, read_sequence) ||
      !layer->write_.init(kind, false, true, server, write_sequence)) {
    return nullptr;
  }
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
      // The header is checked as soon as it is here, before its record's body comes.
      if (error_code ec = check_header(fd, buf + pos)) {
        failed_ = ec;
        break;
      }
      const size_t record = kRecordHeader + be16(buf + pos + 3);
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

error_code RecordLayer::check_header(int fd, const uint8_t* header) {
  const size_t length = be16(header + 3);
  if (tls13_) {
    // Only application data records once the handshake is done: a ChangeCipherSpec is
    // allowed during the first handshake only (RFC 8446 section 5).
    if (header[0] != kContentApplicationData) {
      return fail(fd, kUnexpectedMessage, SSL_R_BAD_RECORD_TYPE);
    }
    if (header[1] != 3 || header[2] != 3) return fail(fd, kDecodeError, SSL_R_WRONG_VERSION_NUMBER);
    if (length > kMaxCiphertextTls13) {
      return fail(fd, kRecordOverflow, SSL_R_ENCRYPTED_LENGTH_TOO_LONG);
    }
    return {};
  }
  if (header[1] != 3 || header[2] != 3) {
    return fail(fd, kProtocolVersion, SSL_R_WRONG_VERSION_NUMBER);
  }
  if (length > kMaxCiphertextTls12) {
    return fail(fd, kRecordOverflow, SSL_R_ENCRYPTED_LENGTH_TOO_LONG);
  }
  return {};
}

error_code RecordLayer::open_record(int fd, uint8_t* record, size_t size, uint8_t* out, size_t room,
                                    size_t& got) {
  uint8_t type = 0;
  uint8_t* plain = nullptr;
  size_t n = 0;
  switch (read_.open(record, size, type, plain, n)) {
    case OpenError::none:
      break;
    case OpenError::bad_record_mac:
      return fail(fd, kBadRecordMac, SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC);
    case OpenError::record_overflow:
      return fail(fd, kRecordOverflow, SSL_R_DATA_LENGTH_TOO_LONG);
    case OpenError::no_content_type:
      return fail(fd, kUnexpectedMessage, SSL_R_BAD_RECORD_TYPE);
    case OpenError::sequence_exhausted:
      return fail(fd, kInternalError, SSL_R_INVALID_SEQUENCE_NUMBER);
  }
  // A handshake message split across records has nothing else between its parts (RFC 8446
  // section 5.1).
  if (handshake_size_ != 0 && type != kContentHandshake) {
    return fail(fd, kUnexpectedMessage, SSL_R_MIXED_HANDSHAKE_AND_NON_HANDSHAKE_DATA);
  }
  if (n == 0) {
    // TLS 1.3 alerts and handshake records are never empty; empty application data records are
    // allowed, but not without end.
    if (tls13_ && (type == kContentAlert || type == kContentHandshake)) {
      return fail(fd, kUnexpectedMessage, SSL_R_BAD_LENGTH);
    }
    if (++empty_records_ > kMaxEmptyRecords) {
      return fail(fd, kUnexpectedMessage, SSL_R_RECORD_TOO_SMALL);
    }
  } else {
    empty_records_ = 0;
    if (type != kContentAlert) warning_alerts_ = 0;
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
      return on_alert(fd, plain, n);
    case kContentHandshake:
      return on_handshake(fd, plain, n);
    case kContentChangeCipherSpec:
      if (!tls13_) return fail(fd, kUnexpectedMessage, SSL_R_CCS_RECEIVED_EARLY);
      [[fallthrough]];
    default:
      return fail(fd, kUnexpectedMessage, tls13_ ? SSL_R_BAD_RECORD_TYPE : SSL_R_UNEXPECTED_RECORD);
  }
}

// As OpenSSL 3.0 reads alerts (ssl3_read_bytes): close_notify ends the stream; a fatal alert
// (any but close_notify and user_canceled in TLS 1.3) fails it without an answer; TLS 1.3's
// user_canceled and TLS 1.2's other warnings are ignored, five in a row at most.
error_code RecordLayer::on_alert(int fd, const uint8_t* body, size_t size) {
  if (size != 2) return fail(fd, kDecodeError, SSL_R_INVALID_ALERT);
  const uint8_t level = body[0];
  const uint8_t description = body[1];
  if (level == kAlertWarning || (tls13_ && description == kUserCanceled)) {
    if (++warning_alerts_ == kMaxWarningAlerts) {
      return fail(fd, kUnexpectedMessage, SSL_R_TOO_MANY_WARN_ALERTS);
    }
  }
  if (tls13_ && description == kUserCanceled) return {};
  if (description == kCloseNotify && (tls13_ || level == kAlertWarning)) {
    peer_closed_ = true;
    return {};
  }
  if (level == kAlertFatal || tls13_) {
    close_sent_ = true;  // the connection is over: nothing more is sent, not even close_notify
    return ssl_error(SSL_AD_REASON_OFFSET + description);
  }
  if (description == kNoRenegotiation) {
    return fail(fd, kHandshakeFailure, SSL_R_NO_RENEGOTIATION);
  }
  if (level == kAlertWarning) return {};
  return fail(fd, kIllegalParameter, SSL_R_UNKNOWN_ALERT_TYPE);
}

error_code RecordLayer::on_handshake(int fd, const uint8_t* body, size_t size) {
  if (!tls13_) return on_renegotiation(fd, body, size);
  // TLS 1.3: only KeyUpdate may come from a client; like any handshake message it may span
  // records, and as a key change it ends its record (RFC 8446 section 5.1).
  for (size_t i = 0; i < size;) {
    handshake_[handshake_size_++] = body[i++];
    if (handshake_size_ == 4) {
      if (handshake_[0] != kKeyUpdate)
        return fail(fd, kUnexpectedMessage, SSL_R_UNEXPECTED_MESSAGE);
      if (be24(handshake_.data() + 1) != 1) return fail(fd, kDecodeError, SSL_R_BAD_KEY_UPDATE);
    } else if (handshake_size_ == handshake_.size()) {
      handshake_size_ = 0;
      if (i != size) return fail(fd, kUnexpectedMessage, SSL_R_NOT_ON_RECORD_BOUNDARY);
      return on_key_update(fd, handshake_[4]);
    }
  }
  return {};
}

// TLS 1.2: a new handshake, which this server does not do. As OpenSSL 3.0 without
// SSL_OP_ALLOW_CLIENT_RENEGOTIATION: a ClientHello (whose 4-byte header may span records) gets
// a warning no_renegotiation (RFC 5246 section 7.2.2) and is dropped with the rest of its
// record, and the client may go on; any other handshake message is unexpected.
error_code RecordLayer::on_renegotiation(int fd, const uint8_t* body, size_t size) {
  constexpr uint8_t kHeader = 4;
  for (size_t i = 0; i < size && handshake_size_ < kHeader;) {
    handshake_[handshake_size_++] = body[i++];
  }
  if (handshake_size_ < kHeader) return {};
  handshake_size_ = 0;
  if (handshake_[0] != kClientHello) {
    return fail(fd, kUnexpectedMessage, SSL_R_UNEXPECTED_MESSAGE);
  }
  const uint8_t alert[2] = {kAlertWarning, kNoRenegotiation};
  if (!queue(kContentAlert, alert, sizeof alert)) {
    return fail(fd, kInternalError, ERR_R_INTERNAL_ERROR);
  }
  flush(fd);  // best effort; a pending write or the next one sends the rest
  return {};
}

error_code RecordLayer::on_key_update(int fd, uint8_t request) {
  if (request > 1) return fail(fd, kIllegalParameter, SSL_R_BAD_KEY_UPDATE);
  DirectionKey key;
  const bool ok = tls13_next_secret(md_, {read_secret_.data(), secret_size_}) &&
                  tls13_traffic_key(md_, kind_, {read_secret_.data(), secret_size_}, key) &&
                  read_.rekey(key);
  OPENSSL_cleanse(&key, sizeof key);
  if (!ok) return fail(fd, kInternalError, ERR_R_INTERNAL_ERROR);
  if (request == 1) {
    // update_requested: our own KeyUpdate (not requesting one) before our next application
    // data; one answers any number of requests.
    update_owed_ = true;
    if (!send_owed_update()) return fail(fd, kInternalError, ERR_R_INTERNAL_ERROR);
    flush(fd);  // best effort; a pending write or the next one sends the rest
  }
  return {};
}

size_t RecordLayer::seal_key_update(uint8_t* out) {
  static constexpr uint8_t kUpdateNotRequested[5] = {kKeyUpdate, 0, 0, 1, 0};
  const boost::asio::const_buffer piece(kUpdateNotRequested, sizeof kUpdateNotRequested);
  const size_t n = write_.seal(kContentHandshake, {&piece, 1}, out);
  if (n == 0) return 0;
  DirectionKey key;
  const bool ok = tls13_next_secret(md_, {write_secret_.data(), secret_size_}) &&
                  tls13_traffic_key(md_, kind_, {write_secret_.data(), secret_size_}, key) &&
                  write_.rekey(key);
  OPENSSL_cleanse(&key, sizeof key);
  update_owed_ = false;
  return ok ? n : 0;
}

bool RecordLayer::update_due() const {
  return tls13_ && (update_owed_ || write_.sequence() >= records_per_key_);
}

bool RecordLayer::send_owed_update() {
  if (!update_owed_ || tx_off_ < tx_.size()) return true;  // after what waits
  std::array<uint8_t, kSealedControl> sealed{};
  const size_t n = seal_key_update(sealed.data());
  if (n == 0) return false;
  tx_.assign(sealed.data(), sealed.data() + n);
  tx_off_ = 0;
  return true;
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
  std::array<uint8_t, kSealedControl> sealed{};
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
    size_t next_index = index;
    size_t next_offset = offset;
    while (next_index < pieces.size() && count < record.size() && plain < kMaxPlaintext) {
      const auto* base = static_cast<const uint8_t*>(pieces[next_index].data());
      const size_t take = std::min(pieces[next_index].size() - next_offset, kMaxPlaintext - plain);
      if (take > 0) record[count++] = boost::asio::const_buffer(base + next_offset, take);
      plain += take;
      next_offset += take;
      if (next_offset == pieces[next_index].size()) {
        ++next_index;
        next_offset = 0;
      }
    }
    if (plain == 0) break;
    // TLS 1.3: a new key first when the peer asked for it or this one has protected enough.
    if (update_due()) {
      const size_t n = seal_key_update(out + sealed);
      if (n == 0) return {ssl_error(ERR_R_INTERNAL_ERROR)};
      sealed += n;
    }
    const size_t n = write_.seal(kContentApplicationData, {record.data(), count}, out + sealed);
    if (n == 0) {
      if (sealed > 0) break;  // send what is sealed; the next write reports the failure
      return {ssl_error(write_.exhausted() ? SSL_R_INVALID_SEQUENCE_NUMBER : ERR_R_INTERNAL_ERROR)};
    }
    sealed += n;
    consumed += plain;
    index = next_index;
    offset = next_offset;
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
  for (;;) {
    while (tx_off_ < tx_.size()) {
      const ssize_t n = send_some(fd, tx_.data() + tx_off_, tx_.size() - tx_off_);
      if (n < 0) return {error_code(errno, boost::system::system_category())};
      if (n == 0) return {.want = Want::write};
      tx_off_ += static_cast<size_t>(n);
    }
    if (!update_owed_) break;
    if (!send_owed_update()) return {ssl_error(ERR_R_INTERNAL_ERROR)};
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
