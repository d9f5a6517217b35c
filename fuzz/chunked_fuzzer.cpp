// The chunked transfer coding decoder (proxy/http/chunked_decoder.h).
//
// The input is decoded as a body, fed in pieces whose sizes come from its first byte: the data
// reported is never more than what was fed, consumed never passes the input, and once done the
// rest is left unread. And the input is then encoded as a body (chunk sizes, extensions and
// trailers chosen from its bytes): invariant, decoding that encoding, in the same pieces, gives
// the body back, consumes all of it and ends done with the trailers kept as they were sent.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/http/chunked_decoder.h"

namespace {

using proxy::http::ChunkedDecoder;

struct Decoded {
  bool bad = false;
  bool done = false;
  size_t consumed = 0;
  std::string body;
  std::string trailers;
};

// Feeds `in` in pieces of `step` bytes, keeping what is not consumed as a server's buffer does.
Decoded decode(std::string_view in, size_t step) {
  ChunkedDecoder d;
  Decoded out;
  d.keep_trailers(&out.trailers);
  std::string buffer;
  size_t fed = 0;
  while (fed < in.size() && !d.done()) {
    const size_t n = std::min(step, in.size() - fed);
    buffer.append(in.substr(fed, n));
    fed += n;
    size_t consumed = 0;
    const auto status = d.feed(buffer, consumed, [&](std::string_view data) {
      if (data.data() < buffer.data() || data.data() + data.size() > buffer.data() + buffer.size())
        std::abort();
      out.body.append(data);
    });
    if (consumed > buffer.size()) std::abort();
    if (status == ChunkedDecoder::Status::Bad) {
      out.bad = true;
      break;
    }
    if (consumed < buffer.size() && !d.done()) {
      std::fprintf(stderr, "input left unconsumed before the end of the body\n");
      std::abort();
    }
    buffer.erase(0, consumed);
    out.consumed = fed - buffer.size();
  }
  out.done = d.done();
  if (d.total() != out.body.size()) std::abort();
  return out;
}

std::string hex(size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t step = size == 0 ? 1 : 1 + data[0] % 64;
  const Decoded raw = decode(in, step);
  if (raw.body.size() > size) std::abort();

  // The input as a body: chunk sizes from its bytes, an extension on some, a trailer field.
  std::string encoded;
  size_t i = 0;
  while (i < size) {
    const size_t n = std::min<size_t>(1 + data[i] % 200, size - i);
    encoded += hex(n);
    if (data[i] % 5 == 0) encoded += ";ext=\"v\"";
    encoded += "\r\n";
    encoded.append(in.substr(i, n));
    encoded += "\r\n";
    i += n;
  }
  encoded += "0\r\n";
  const std::string trailer = size % 3 == 0 ? "X-Check: " + hex(size) + "\r\n" : "";
  encoded += trailer + "\r\n";
  const std::string after = "GET / HTTP/1.1\r\n";
  const Decoded round = decode(encoded + after, step);
  if (round.bad || !round.done || round.body != in || round.consumed != encoded.size() ||
      round.trailers != trailer) {
    std::fprintf(
        stderr, "decoding the encoding of %zu bytes: bad=%d done=%d body %zu consumed %zu of %zu\n",
        size, round.bad, round.done, round.body.size(), round.consumed, encoded.size());
    std::abort();
  }
  return 0;
}
