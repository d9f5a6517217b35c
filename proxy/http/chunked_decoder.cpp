#include "proxy/http/chunked_decoder.h"

#include <array>

namespace proxy::http {
namespace {

enum : uint8_t {
  kToken = 1,  // tchar (RFC 9110 5.6.2)
  kValue = 2,  // HTAB, 0x20-0x7E, 0x80-0xFF: no CTL but HTAB
};
constexpr uint8_t kNotHex = 0xFF;

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> t{};
  constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  for (int c = 0; c < 256; ++c) {
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    uint8_t k = 0;
    if (alnum || kTokenPunct.find(static_cast<char>(c)) != std::string_view::npos) k |= kToken;
    if (c == '\t' || (c >= 0x20 && c != 0x7F)) k |= kValue;
    t[static_cast<size_t>(c)] = k;
  }
  return t;
}

constexpr std::array<uint8_t, 256> make_hex() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = kNotHex;
    if (c >= '0' && c <= '9') v = static_cast<uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f') v = static_cast<uint8_t>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') v = static_cast<uint8_t>(c - 'A' + 10);
    t[static_cast<size_t>(c)] = v;
  }
  return t;
}

constexpr auto kClass = make_classes();
constexpr auto kHex = make_hex();

}  // namespace

size_t ChunkedDecoder::advance(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    switch (state_) {
      case State::SizeStart: {
        const uint8_t v = kHex[c];
        if (v == kNotHex) break;
        size_ = v;
        digits_ = 1;
        count_ = 1;
        state_ = State::Size;
        continue;
      }
      case State::Size: {
        if (c == '\r') {
          state_ = State::SizeLf;
          continue;
        }
        if (++count_ > kMaxSizeLine) break;
        const uint8_t v = kHex[c];
        if (v != kNotHex) {
          if (++digits_ > 16) break;  // 16 hex digits fill 64 bits: no overflow below
          size_ = (size_ << 4) | v;
          continue;
        }
        if (c == ';') {
          state_ = State::Extension;
        } else if (c == ' ' || c == '\t') {
          state_ = State::SizeSpace;
        } else {
          break;
        }
        continue;
      }
      case State::SizeSpace:
        if (++count_ > kMaxSizeLine) break;
        if (c == ' ' || c == '\t') continue;
        if (c != ';') break;
        state_ = State::Extension;
        continue;
      case State::Extension:
        if (c == '\r') {
          state_ = State::SizeLf;
          continue;
        }
        if (++count_ > kMaxSizeLine || !(kClass[c] & kValue)) break;
        continue;
      case State::SizeLf:
        if (c != '\n') break;
        if (size_ == 0) {
          state_ = State::TrailerStart;
          count_ = 0;
          continue;
        }
        remaining_ = size_;
        state_ = State::Data;
        return i + 1;
      case State::DataCr:
        if (c != '\r') break;
        state_ = State::DataLf;
        continue;
      case State::DataLf:
        if (c != '\n') break;
        state_ = State::SizeStart;
        continue;
      case State::TrailerStart:
        if (++count_ > kMaxTrailer) break;
        if (c == '\r') {
          state_ = State::FinalLf;
          continue;
        }
        if (!(kClass[c] & kToken)) break;  // also refuses obs-fold and an empty name
        state_ = State::TrailerName;
        if (trailers_) trailers_->push_back(static_cast<char>(c));
        continue;
      case State::TrailerName:
        if (++count_ > kMaxTrailer) break;
        if (trailers_) trailers_->push_back(static_cast<char>(c));
        if (c == ':') {
          state_ = State::TrailerValue;
          continue;
        }
        if (!(kClass[c] & kToken)) break;
        continue;
      case State::TrailerValue:
        if (++count_ > kMaxTrailer) break;
        if (trailers_) trailers_->push_back(static_cast<char>(c));
        if (c == '\r') {
          state_ = State::TrailerLf;
          continue;
        }
        if (!(kClass[c] & kValue)) break;
        continue;
      case State::TrailerLf:
        if (++count_ > kMaxTrailer || c != '\n') break;
        if (trailers_) trailers_->push_back('\n');
        state_ = State::TrailerStart;
        continue;
      case State::FinalLf:
        if (++count_ > kMaxTrailer || c != '\n') break;
        state_ = State::Done;
        return i + 1;
      case State::Data:
      case State::Done:
      case State::Failed:
        return i;
    }
    // Reached only by `break` out of the switch: the byte is malformed.
    state_ = State::Failed;
    return i;
  }
  return n;
}

}  // namespace proxy::http
