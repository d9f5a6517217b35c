#include "tls/records/record_cipher.h"

#include <openssl/err.h>

#include <cstring>

namespace tls {
namespace {

void put_be64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

void put_be16(uint8_t* p, size_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

bool fail() {
  ERR_clear_error();
  return false;
}

}  // namespace

RecordCipher::~RecordCipher() {
  EVP_CIPHER_CTX_free(ctx_);
  OPENSSL_cleanse(iv_.data(), iv_.size());
}

bool RecordCipher::init(AeadKind kind, bool tls13, bool sealing, const DirectionKey& key,
                        uint64_t sequence) {
  const EVP_CIPHER* cipher = aead_cipher(kind);
  if (cipher == nullptr) return false;
  if (ctx_ == nullptr && (ctx_ = EVP_CIPHER_CTX_new()) == nullptr) return fail();
  if (EVP_CipherInit_ex(ctx_, cipher, nullptr, key.key.data(), nullptr, sealing ? 1 : 0) != 1) {
    return fail();
  }
  tls13_ = tls13;
  explicit_nonce_ = (!tls13 && kind != AeadKind::Chacha20Poly1305) ? 8 : 0;
  iv_ = key.iv;
  seq_ = sequence;
  exhausted_ = false;
  return true;
}

bool RecordCipher::rekey(const DirectionKey& key) {
  if (ctx_ == nullptr ||
      EVP_CipherInit_ex(ctx_, nullptr, nullptr, key.key.data(), nullptr, -1) != 1)
    return fail();
  iv_ = key.iv;
  seq_ = 0;
  exhausted_ = false;
  return true;
}

void RecordCipher::advance() {
  if (seq_ == UINT64_MAX) {
    exhausted_ = true;  // 2^64 records: the next one would wrap to 0 and reuse a nonce
  } else {
    ++seq_;
  }
}

void RecordCipher::nonce_for(uint64_t seq, uint8_t* nonce) const {
  if (explicit_nonce_ != 0) {  // TLS 1.2 AES-GCM: 4 fixed bytes, then the explicit 8
    std::memcpy(nonce, iv_.data(), 4);
    put_be64(nonce + 4, seq);
    return;
  }
  std::memcpy(nonce, iv_.data(), kNonce);
  uint8_t s[8];
  put_be64(s, seq);
  for (int i = 0; i < 8; ++i) nonce[4 + i] ^= s[i];
}

size_t RecordCipher::additional_data(const uint8_t* header, size_t plain, uint8_t* aad) const {
  if (tls13_) {  // the record header
    std::memcpy(aad, header, kRecordHeader);
    return kRecordHeader;
  }
  // TLS 1.2: sequence number, type, version, plaintext length
  put_be64(aad, seq_);
  std::memcpy(aad + 8, header, 3);
  put_be16(aad + 11, plain);
  return 13;
}

size_t RecordCipher::seal(uint8_t type, std::span<const boost::asio::const_buffer> pieces,
                          uint8_t* out) {
  if (exhausted_) return 0;
  size_t plain = 0;
  for (const auto& b : pieces) plain += b.size();
  const size_t payload = plain + overhead() - kRecordHeader;
  out[0] = tls13_ ? kContentApplicationData : type;
  out[1] = 3;
  out[2] = 3;
  put_be16(out + 3, payload);

  uint8_t nonce[kNonce];
  nonce_for(seq_, nonce);
  uint8_t* p = out + kRecordHeader;
  if (explicit_nonce_ != 0) {
    std::memcpy(p, nonce + 4, 8);
    p += 8;
  }
  uint8_t aad[13];
  const size_t aad_size = additional_data(out, plain, aad);
  int n = 0;
  if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce, 1) != 1 ||
      EVP_CipherUpdate(ctx_, nullptr, &n, aad, static_cast<int>(aad_size)) != 1) {
    fail();
    return 0;
  }
  for (const auto& b : pieces) {
    if (b.size() == 0) continue;
    if (EVP_CipherUpdate(ctx_, p, &n, static_cast<const uint8_t*>(b.data()),
                         static_cast<int>(b.size())) != 1) {
      fail();
      return 0;
    }
    p += n;
  }
  if (tls13_ && EVP_CipherUpdate(ctx_, p, &n, &type, 1) != 1) {
    fail();
    return 0;
  }
  if (tls13_) p += n;
  if (EVP_CipherFinal_ex(ctx_, p, &n) != 1) {
    fail();
    return 0;
  }
  p += n;
  if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kRecordTag, p) != 1) {
    fail();
    return 0;
  }
  advance();
  return kRecordHeader + payload;
}

OpenError RecordCipher::open(uint8_t* record, size_t size, uint8_t& type, uint8_t*& plain,
                             size_t& plain_size) {
  if (exhausted_) return OpenError::sequence_exhausted;
  if (size < kRecordHeader + explicit_nonce_ + kRecordTag) return OpenError::bad_record_mac;
  const size_t cipher_size = size - kRecordHeader - explicit_nonce_ - kRecordTag;

  uint8_t nonce[kNonce];
  nonce_for(seq_, nonce);
  uint8_t* p = record + kRecordHeader;
  if (explicit_nonce_ != 0) {
    std::memcpy(nonce + 4, p, 8);
    p += 8;
  }
  uint8_t aad[13];
  const size_t aad_size = additional_data(record, cipher_size, aad);
  int n = 0;
  int last = 0;
  if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce, 0) != 1 ||
      EVP_CipherUpdate(ctx_, nullptr, &n, aad, static_cast<int>(aad_size)) != 1 ||
      EVP_CipherUpdate(ctx_, p, &n, p, static_cast<int>(cipher_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kRecordTag, p + cipher_size) != 1 ||
      EVP_CipherFinal_ex(ctx_, p + n, &last) != 1) {
    fail();
    return OpenError::bad_record_mac;
  }
  advance();
  if (tls13_) {
    // The content type is the last non-zero byte; zeros after it are padding (RFC 8446 5.4).
    size_t end = cipher_size;
    while (end > 0 && p[end - 1] == 0) --end;
    if (end == 0) return OpenError::no_content_type;
    type = p[end - 1];
    plain_size = end - 1;
  } else {
    type = record[0];
    plain_size = cipher_size;
  }
  if (plain_size > kMaxPlaintext) return OpenError::record_overflow;
  plain = p;
  return OpenError::none;
}

}  // namespace tls
