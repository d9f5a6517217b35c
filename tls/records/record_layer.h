#pragma once

// The records of a server-side TLS connection after its handshake, protected here instead of
// by OpenSSL, which is then freed: the connection keeps its two cipher contexts, its keys and
// sequence numbers (about 2 KiB) instead of OpenSSL's SSL object (about 12 KiB with OpenSSL
// 3.0, which releases its record buffers but not the rest). This is what kernel TLS offload
// does with the same secrets; it needs nothing from the kernel.
//
// Handled: TLS 1.3 and TLS 1.2 with the AEAD suites (AES-GCM, ChaCha20-Poly1305); application
// data, alerts, TLS 1.3 KeyUpdate in both directions (a handshake message may span records).
// What is refused, and the alert sent, follows RFC 8446 section 6.2 and OpenSSL 3.0's record
// layer: record_overflow for a record longer than the version allows (2^14 + 256 bytes in TLS
// 1.3, 2^14 + 2048 in TLS 1.2) or more than 2^14 bytes of plaintext; bad_record_mac for one
// that does not authenticate; unexpected_message for a record type not allowed now (a
// ChangeCipherSpec, an inner plaintext without a content type, other records inside a
// fragmented handshake message, a KeyUpdate not ending its record, any other handshake message;
// in TLS 1.2 any handshake message but a ClientHello, which gets a warning no_renegotiation and
// is dropped, as OpenSSL does); decode_error for a malformed alert or
// KeyUpdate; illegal_parameter for a KeyUpdate request that is neither 0 nor 1. A fatal alert
// from the peer ends the stream (TLS 1.3's user_canceled and TLS 1.2's warnings are ignored, as
// OpenSSL does; five in a row are unexpected_message). No sequence number is used twice: in TLS
// 1.3 the server updates its own key before the AEAD's usage limit (RFC 8446 section 5.5), and
// a direction whose sequence would wrap ends the connection.
//
// Buffers are per thread while a call runs; a connection holds bytes only for a record split
// across reads, plaintext its reader had no room for, or ciphertext the socket did not take yet.

#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "tls/attempt.h"
#include "tls/records/bio_ctrl.h"
#include "tls/records/record_cipher.h"
#include "tls/secret_capture.h"

namespace tls {

// RFC 8446 section 5.5: AES-GCM may protect about 2^24.5 full-size records under one key.
inline constexpr uint64_t kAesGcmRecordsPerKey = 23'726'566;

class RecordLayer {
 public:
  // The protection of a connection whose server handshake just finished on `ssl`, or nullptr
  // when this layer cannot take it over: a cipher it does not handle, secrets that were not
  // captured, input OpenSSL has already read (read ahead), a TLS 1.2 read sequence it cannot
  // know. `received`: bytes read from the socket after the handshake's last record
  // (read_bio.h), the first ones this layer opens.
  static std::unique_ptr<RecordLayer> take_over(SSL* ssl, const CapturedSecrets& captured,
                                                std::span<const unsigned char> received = {});

  // A TLS 1.3 connection from its application traffic secrets (the digest of its suite) and
  // the sequence number of each direction's next record.
  static std::unique_ptr<RecordLayer> tls13(const EVP_MD* md, AeadKind kind,
                                            std::span<const uint8_t> client_secret,
                                            std::span<const uint8_t> server_secret,
                                            uint64_t read_sequence, uint64_t write_sequence);
  // A TLS 1.2 connection from its client and server write keys.
  static std::unique_ptr<RecordLayer> tls12(AeadKind kind, const DirectionKey& client,
                                            const DirectionKey& server, uint64_t read_sequence,
                                            uint64_t write_sequence);

  ~RecordLayer();
  RecordLayer(const RecordLayer&) = delete;
  RecordLayer& operator=(const RecordLayer&) = delete;

  // Reads plaintext into data (size > 0). Eof after the peer's close_notify or a TCP FIN.
  detail::Attempt read(int fd, void* data, size_t size);

  // Seals up to four records of `pieces` and sends them; bytes = plaintext consumed. What the
  // socket does not take waits for flush(). Call only when has_output() is false.
  detail::Attempt write(int fd, std::span<const boost::asio::const_buffer> pieces);

  // Sends what waits; want write while some is left.
  detail::Attempt flush(int fd);
  bool has_output() const { return tx_off_ < tx_.size(); }

  // Queues close_notify (once) and flushes.
  detail::Attempt shutdown(int fd);

  // Decrypted or received bytes waiting here for the next read.
  bool has_input() const { return plain_off_ < plain_.size() || !rx_.empty(); }

  // TLS 1.3: records sealed under one key before the server updates it (KeyUpdate with
  // update_not_requested). Defaults to kAesGcmRecordsPerKey for AES-GCM; ChaCha20-Poly1305
  // has no such limit and updates only before its sequence number would wrap.
  void set_records_per_key(uint64_t records) { records_per_key_ = records; }

  // Records per write call, and the plaintext they hold.
  static constexpr size_t kRecordsPerWrite = 4;
  static constexpr size_t kWriteLimit = kRecordsPerWrite * kMaxPlaintext;

 private:
  RecordLayer() = default;

  boost::system::error_code check_header(int fd, const uint8_t* header);
  boost::system::error_code open_record(int fd, uint8_t* record, size_t size, uint8_t* out,
                                        size_t room, size_t& got);
  boost::system::error_code on_alert(int fd, const uint8_t* body, size_t size);
  boost::system::error_code on_handshake(int fd, const uint8_t* body, size_t size);
  boost::system::error_code on_renegotiation(int fd, const uint8_t* body, size_t size);
  boost::system::error_code on_key_update(int fd, uint8_t request);
  boost::system::error_code fail(int fd, uint8_t alert, int reason);
  bool queue(uint8_t type, const uint8_t* body, size_t size);
  // TLS 1.3: seals our KeyUpdate (update_not_requested) into out, then moves to the next key;
  // the record's size, 0 on failure.
  size_t seal_key_update(uint8_t* out);
  // Queues the KeyUpdate the peer asked for once nothing else waits to be sent.
  bool send_owed_update();
  bool update_due() const;
  void keep_input(const uint8_t* data, size_t size);

  RecordCipher read_;
  RecordCipher write_;
  const EVP_MD* md_ = nullptr;
  AeadKind kind_ = AeadKind::Aes128Gcm;
  bool tls13_ = true;
  bool peer_closed_ = false;
  bool close_sent_ = false;
  bool update_owed_ = false;    // the peer asked for our KeyUpdate and it is not queued yet
  uint8_t warning_alerts_ = 0;  // in a row
  uint8_t empty_records_ = 0;   // in a row
  boost::system::error_code failed_;
  uint64_t records_per_key_ = UINT64_MAX;
  std::array<uint8_t, kMaxSecret> read_secret_{};  // TLS 1.3, for KeyUpdate
  std::array<uint8_t, kMaxSecret> write_secret_{};
  size_t secret_size_ = 0;
  // A handshake message received in part: TLS 1.3, its 4-byte header and 1-byte body at most
  // (a KeyUpdate is the only one a client may send); TLS 1.2, a refused renegotiation's header.
  std::array<uint8_t, 5> handshake_{};
  uint8_t handshake_size_ = 0;

  std::vector<uint8_t> rx_;     // received bytes of records not opened yet
  std::vector<uint8_t> plain_;  // opened plaintext the reader had no room for
  size_t plain_off_ = 0;
  std::vector<uint8_t> tx_;  // sealed records the socket did not take yet
  size_t tx_off_ = 0;
};

}  // namespace tls
