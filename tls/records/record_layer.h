#pragma once

// The records of a server-side TLS connection after its handshake, protected here instead of
// by OpenSSL, which is then freed: the connection keeps its two cipher contexts, its keys and
// sequence numbers (about 2 KiB) instead of OpenSSL's SSL object (about 12 KiB with OpenSSL
// 3.0, which releases its record buffers but not the rest). This is what kernel TLS offload
// does with the same secrets; it needs nothing from the kernel.
//
// Handled: TLS 1.3 and TLS 1.2 with the AEAD suites (AES-GCM, ChaCha20-Poly1305); application
// data, alerts (close_notify ends the stream, other fatal alerts fail it), TLS 1.3 KeyUpdate in
// both directions. A handshake message in TLS 1.2 (renegotiation) fails the stream. Buffers are
// per thread while a call runs; a connection holds bytes only for a record split across reads,
// plaintext its reader had no room for, or ciphertext the socket did not take yet.

#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "tls/attempt.h"
#include "tls/records/record_cipher.h"
#include "tls/secret_capture.h"

namespace tls {

class RecordLayer {
 public:
  // The protection of a connection whose server handshake just finished on `ssl`, or nullptr
  // when this layer cannot take it over: a cipher it does not handle, secrets that were not
  // captured, input OpenSSL has already read (read ahead). `received`: bytes read from the
  // socket after the handshake's last record (read_bio.h), the first ones this layer opens.
  static std::unique_ptr<RecordLayer> take_over(SSL* ssl, const CapturedSecrets& captured,
                                                std::span<const unsigned char> received = {});

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

  // Records per write call, and the plaintext they hold.
  static constexpr size_t kRecordsPerWrite = 4;
  static constexpr size_t kWriteLimit = kRecordsPerWrite * kMaxPlaintext;

 private:
  RecordLayer() = default;

  boost::system::error_code open_record(int fd, uint8_t* record, size_t size, uint8_t* out,
                                        size_t room, size_t& got);
  boost::system::error_code on_alert(const uint8_t* body, size_t size);
  boost::system::error_code on_handshake(int fd, const uint8_t* body, size_t size);
  boost::system::error_code fail(int fd, uint8_t alert, int reason);
  bool queue(uint8_t type, const uint8_t* body, size_t size);
  void keep_input(const uint8_t* data, size_t size);

  RecordCipher read_;
  RecordCipher write_;
  const EVP_MD* md_ = nullptr;
  AeadKind kind_ = AeadKind::Aes128Gcm;
  bool tls13_ = true;
  bool peer_closed_ = false;
  bool close_sent_ = false;
  boost::system::error_code failed_;
  std::array<uint8_t, kMaxSecret> read_secret_{};  // TLS 1.3, for KeyUpdate
  std::array<uint8_t, kMaxSecret> write_secret_{};
  size_t secret_size_ = 0;

  std::vector<uint8_t> rx_;     // received bytes of records not opened yet
  std::vector<uint8_t> plain_;  // opened plaintext the reader had no room for
  size_t plain_off_ = 0;
  std::vector<uint8_t> tx_;  // sealed records the socket did not take yet
  size_t tx_off_ = 0;
};

}  // namespace tls
