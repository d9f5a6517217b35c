#pragma once

// The AEAD protection of one direction of a TLS connection's records after the handshake:
// nonces from the IV and the record sequence number, additional data, the tag; for TLS 1.3 the
// inner content type and padding (RFC 8446 section 5.2), for TLS 1.2 the explicit nonce of
// AES-GCM (RFC 5288) or the XORed one of ChaCha20-Poly1305 (RFC 7905).

#include <openssl/evp.h>

#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <span>

#include "tls/records/traffic_keys.h"

namespace tls {

inline constexpr size_t kRecordHeader = 5;
inline constexpr size_t kRecordTag = 16;
inline constexpr size_t kMaxPlaintext = 16384;
// The largest encrypted record body a peer may send: 2^14 + 2048 bytes in TLS 1.2 (RFC 5246
// section 6.2.3), 2^14 + 256 in TLS 1.3 (RFC 8446 section 5.2); larger is record_overflow.
inline constexpr size_t kMaxCiphertextTls12 = kMaxPlaintext + 2048;
inline constexpr size_t kMaxCiphertextTls13 = kMaxPlaintext + 256;
inline constexpr size_t kMaxRecord = kRecordHeader + kMaxCiphertextTls12;

inline constexpr uint8_t kContentChangeCipherSpec = 20;
inline constexpr uint8_t kContentAlert = 21;
inline constexpr uint8_t kContentHandshake = 22;
inline constexpr uint8_t kContentApplicationData = 23;

// Why a record did not open.
enum class OpenError : uint8_t {
  none,
  bad_record_mac,     // does not authenticate, or too short to hold a tag
  record_overflow,    // more than 2^14 bytes of plaintext
  no_content_type,    // TLS 1.3: the inner plaintext is all zeros
  sequence_exhausted  // the last sequence number was used: no nonce is left under this key
};

class RecordCipher {
 public:
  RecordCipher() = default;
  ~RecordCipher();
  RecordCipher(const RecordCipher&) = delete;
  RecordCipher& operator=(const RecordCipher&) = delete;

  // Sets the cipher, key and IV; the sequence number starts at `sequence`. False when OpenSSL
  // fails.
  bool init(AeadKind kind, bool tls13, bool sealing, const DirectionKey& key, uint64_t sequence);

  // TLS 1.3 KeyUpdate: the same cipher with a new key and IV; the sequence restarts at 0.
  bool rekey(const DirectionKey& key);

  // The sequence number of the next record, and whether there is none left: a sequence number
  // is never used twice under one key (it would repeat a nonce), so after 2^64 - 1 the
  // direction refuses to seal or open until it is rekeyed.
  uint64_t sequence() const { return seq_; }
  bool exhausted() const { return exhausted_; }

  // Bytes a record adds to its plaintext.
  size_t overhead() const { return kRecordHeader + kRecordTag + (tls13_ ? 1 : explicit_nonce_); }

  // Seals one record of content `type` whose plaintext is the concatenation of `pieces` (at
  // most kMaxPlaintext bytes) into `out`, which has room for it and overhead(). Returns the
  // record's size, 0 when OpenSSL fails or the sequence is exhausted.
  size_t seal(uint8_t type, std::span<const boost::asio::const_buffer> pieces, uint8_t* out);

  // Opens one complete record (header included, its length already checked against the
  // version's limit) in place. On success `type` is its content type and its plaintext is
  // [plain, plain + plain_size), inside the record: at most 2^14 bytes, after the tag and, in
  // TLS 1.3, the padding and inner content type are removed.
  OpenError open(uint8_t* record, size_t size, uint8_t& type, uint8_t*& plain, size_t& plain_size);

 private:
  void nonce_for(uint64_t seq, uint8_t* nonce) const;
  void advance();
  // The additional data of the record with this header and plaintext size, into aad (13
  // bytes); returns its size.
  size_t additional_data(const uint8_t* header, size_t plain, uint8_t* aad) const;

  EVP_CIPHER_CTX* ctx_ = nullptr;
  std::array<uint8_t, kNonce> iv_{};
  uint64_t seq_ = 0;
  bool exhausted_ = false;
  bool tls13_ = true;
  uint8_t explicit_nonce_ = 0;  // 8 for TLS 1.2 AES-GCM
};

}  // namespace tls
