// Incremental decoder for the chunked transfer coding (RFC 9112 7.1).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace proxy::http {

// Decodes a chunked body incrementally. Chunk extensions are validated and dropped; trailers
// are validated (bounded by kMaxTrailer bytes) and dropped, or kept for the next hop.
//
// Strict: chunk-size is 1 to 16 hex digits, optionally followed by whitespace and ";" extensions
// (no CTL but HTAB); every line ends in CRLF; chunk data is followed by CRLF exactly; trailer
// fields follow the header-field syntax (token name, no whitespace before ':', no obs-fold, no
// CTL but HTAB in values). A chunk-size line longer than kMaxSizeLine bytes is refused.
class ChunkedDecoder {
 public:
  static constexpr size_t kMaxTrailer = 32 * 1024;
  static constexpr size_t kMaxSizeLine = 4 * 1024;
  enum class Status : uint8_t { Ok, Bad };

  // Consumes from `in` as far as it can. For each piece of chunk data found, calls
  // on_data(std::string_view) (views into `in`). Sets consumed to the bytes used (the rest must
  // be fed again with more data appended). Returns Bad on malformed input.
  //
  // Every byte up to the end of the body is consumed (the decoder keeps its own state between
  // calls), so consumed < in.size() only once done(): the rest follows the body.
  template <class OnData>
  Status feed(std::string_view in, size_t& consumed, OnData&& on_data);

  // Keeps the trailer fields, as they came ("Name: value\r\n" each, the final empty line
  // left out), in `out`; nullptr drops them.
  void keep_trailers(std::string* out) { trailers_ = out; }

  bool done() const { return state_ == State::Done; }  // last chunk and trailers consumed
  uint64_t total() const { return total_; }            // data bytes decoded so far

 private:
  enum class State : uint8_t {
    SizeStart,     // first hex digit of a chunk-size
    Size,          // more hex digits, or what ends them
    SizeSpace,     // whitespace after the size: only ";" may follow
    Extension,     // chunk-ext up to CR
    SizeLf,        // LF closing the size line
    Data,          // chunk data
    DataCr,        // CR after chunk data
    DataLf,        // LF after chunk data
    TrailerStart,  // a trailer field or the final empty line
    TrailerName,
    TrailerValue,
    TrailerLf,
    FinalLf,  // LF of the final empty line
    Done,
    Failed,
  };

  // Consumes control bytes (everything but chunk data) from p until the state becomes Data,
  // Done or Failed, or n bytes are used; returns the bytes used.
  size_t advance(const char* p, size_t n);

  State state_ = State::SizeStart;
  uint64_t size_ = 0;       // chunk-size being read
  uint64_t remaining_ = 0;  // data bytes left in the current chunk
  uint64_t total_ = 0;
  size_t count_ = 0;  // bytes of the current size line, or of the trailer section
  unsigned digits_ = 0;
  std::string* trailers_ = nullptr;
};

template <class OnData>
ChunkedDecoder::Status ChunkedDecoder::feed(std::string_view in, size_t& consumed,
                                            OnData&& on_data) {
  size_t pos = 0;
  while (pos < in.size()) {
    if (state_ == State::Data) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - pos));
      remaining_ -= n;
      total_ += n;
      if (remaining_ == 0) state_ = State::DataCr;
      on_data(in.substr(pos, n));
      pos += n;
    } else if (state_ == State::Done || state_ == State::Failed) {
      break;
    } else {
      pos += advance(in.data() + pos, in.size() - pos);
    }
  }
  consumed = pos;
  return state_ == State::Failed ? Status::Bad : Status::Ok;
}

}  // namespace proxy::http
