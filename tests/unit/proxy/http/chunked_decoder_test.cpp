#include "proxy/http/chunked_decoder.h"

#include <gtest/gtest.h>

#include <cctype>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace proxy::http {
namespace {

using namespace std::string_literals;
using Status = ChunkedDecoder::Status;

struct Result {
  Status status = Status::Ok;
  bool done = false;
  std::string data;
  size_t consumed = 0;  // of the whole input
  size_t pieces = 0;
  uint64_t total = 0;
};

// Feeds `in` in one call.
Result decode(std::string_view in) {
  ChunkedDecoder dec;
  Result r;
  r.status = dec.feed(in, r.consumed, [&](std::string_view d) {
    r.data.append(d);
    ++r.pieces;
  });
  r.done = dec.done();
  r.total = dec.total();
  return r;
}

// Feeds `in` in pieces cut at `cuts`, the way a connection would: the unconsumed rest is kept
// and fed again with the next bytes appended. Stops at the first Bad or when done.
Result decode_split(std::string_view in, const std::vector<size_t>& cuts) {
  ChunkedDecoder dec;
  Result r;
  std::string pending;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(in.size());
  for (size_t to : ends) {
    if (to < from) continue;
    pending.append(in.substr(from, to - from));
    from = to;
    size_t used = 0;
    r.status = dec.feed(pending, used, [&](std::string_view d) {
      EXPECT_FALSE(d.empty());
      r.data.append(d);
      ++r.pieces;
    });
    if (r.status == Status::Bad) break;
    r.consumed += used;
    pending.erase(0, used);
    if (dec.done()) break;
  }
  r.done = dec.done();
  r.total = dec.total();
  return r;
}

Result decode_bytewise(std::string_view in) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < in.size(); ++i) cuts.push_back(i);
  return decode_split(in, cuts);
}

Status status_of(std::string_view in) {
  return decode(in).status;
}

TEST(ChunkedDecoder, Simple) {
  const std::string body = "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
  Result r = decode(body);
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.data, "hello, world");
  EXPECT_EQ(r.consumed, body.size());
  EXPECT_EQ(r.total, 12u);
  EXPECT_EQ(r.pieces, 2u);
}

TEST(ChunkedDecoder, EmptyBody) {
  Result r = decode("0\r\n\r\n");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(r.consumed, 5u);
  r = decode("000\r\n\r\n");
  EXPECT_TRUE(r.done);
}

TEST(ChunkedDecoder, StopsAtEndOfBody) {
  const std::string body = "3\r\nabc\r\n0\r\n\r\n";
  const std::string next = "GET /next HTTP/1.1\r\n\r\n";
  Result r = decode(body + next);
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.consumed, body.size());
  // Feeding more after done consumes nothing.
  ChunkedDecoder dec;
  size_t used = 0;
  ASSERT_EQ(dec.feed(body, used, [](std::string_view) {}), Status::Ok);
  ASSERT_TRUE(dec.done());
  EXPECT_EQ(dec.feed(next, used, [](std::string_view) { FAIL(); }), Status::Ok);
  EXPECT_EQ(used, 0u);
}

TEST(ChunkedDecoder, HexSizes) {
  const std::string data(0x1aF, 'x');
  Result r = decode("1aF\r\n" + data + "\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.data, data);
  r = decode("0000000000000003\r\nabc\r\n0\r\n\r\n");  // 16 digits
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(r.data, "abc");
}

TEST(ChunkedDecoder, BadSizes) {
  for (std::string_view in : {
           "\r\nabc\r\n0\r\n\r\n",  // empty size
           "g\r\n",                 //
           "0x5\r\nhello\r\n",      //
           "+5\r\nhello\r\n",       //
           "-5\r\nhello\r\n",       //
           " 5\r\nhello\r\n",       // leading space
           "5 \r\nhello\r\n",       // trailing space without extension
           "5\t\r\nhello\r\n",      //
           "5\nhello\r\n",          // bare LF
           "5\rhello\r\n",          // bare CR
           "5\r\r\nhello\r\n",      //
           "5,\r\nhello\r\n",       //
           "5 5\r\nhello\r\n",      //
           "1_0\r\n",               //
       }) {
    EXPECT_EQ(status_of(in), Status::Bad) << in;
    EXPECT_EQ(decode_bytewise(in).status, Status::Bad) << in;
  }
  EXPECT_EQ(status_of("5\0\r\nhello\r\n"s), Status::Bad);
}

TEST(ChunkedDecoder, SizeOverflow) {
  // 17 digits, even with leading zeros, and values past 2^64.
  EXPECT_EQ(status_of("00000000000000001\r\nx\r\n"), Status::Bad);
  EXPECT_EQ(status_of("10000000000000000\r\n"), Status::Bad);
  EXPECT_EQ(status_of("FFFFFFFFFFFFFFFFF\r\n"), Status::Bad);
  EXPECT_EQ(status_of("fffffffffffffffffffffffffffffffff0\r\n"), Status::Bad);
  // 16 digits: accepted, waiting for the data.
  Result r = decode("FFFFFFFFFFFFFFFF\r\nsome data");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.data, "some data");
}

TEST(ChunkedDecoder, Extensions) {
  for (std::string_view in : {
           "5;name\r\nhello\r\n0\r\n\r\n",
           "5;name=value\r\nhello\r\n0\r\n\r\n",
           "5; a=b ; c=\"quoted; \\\"value\\\"\"\r\nhello\r\n0\r\n\r\n",
           "5 ;a\r\nhello\r\n0\r\n\r\n",
           "5\t ;a\r\nhello\r\n0\r\n\r\n",
           "5;\tx=\xc3\xa9\r\nhello\r\n0;last=1\r\n\r\n",
       }) {
    Result r = decode(in);
    EXPECT_EQ(r.status, Status::Ok) << in;
    EXPECT_TRUE(r.done) << in;
    EXPECT_EQ(r.data, "hello") << in;
  }
  for (std::string_view in : {
           "5;a\x01\r\nhello\r\n",
           "5;a\x7f\r\nhello\r\n",
           "5;a\nhello\r\n",
           "5;a\rb\r\nhello\r\n",
           "5 x\r\nhello\r\n",
       }) {
    EXPECT_EQ(status_of(in), Status::Bad) << in;
  }
  EXPECT_EQ(status_of("5;a\0b\r\nhello\r\n"s), Status::Bad);
}

TEST(ChunkedDecoder, SizeLineLimit) {
  // The size line (digits and extensions, CRLF excluded) may be 4 KiB, not more.
  const std::string ok = "5;" + std::string(ChunkedDecoder::kMaxSizeLine - 2, 'e');
  Result r = decode(ok + "\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(decode(ok + "e\r\nhello\r\n0\r\n\r\n").status, Status::Bad);
  // Caught without waiting for the CRLF.
  EXPECT_EQ(decode(ok + "ee").status, Status::Bad);
  EXPECT_EQ(decode("5    " + std::string(5000, ' ')).status, Status::Bad);
}

TEST(ChunkedDecoder, DataMustEndInCrlf) {
  for (std::string_view in : {
           "5\r\nhelloX\r\n0\r\n\r\n", "5\r\nhello\n0\r\n\r\n", "5\r\nhello\rX0\r\n\r\n",
           "5\r\nhello\r\r\n0\r\n\r\n",
           "5\r\nhello world\r\n0\r\n\r\n",  // longer than announced
           "5\r\nhell\r\n0\r\n\r\n",         // shorter: "\r" is data, then "\n0" is not CRLF
       }) {
    EXPECT_EQ(status_of(in), Status::Bad) << in;
    EXPECT_EQ(decode_bytewise(in).status, Status::Bad) << in;
  }
}

TEST(ChunkedDecoder, LastChunkNeedsFinalCrlf) {
  Result r = decode("5\r\nhello\r\n0\r\n");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_FALSE(r.done);
  r = decode("5\r\nhello\r\n0\r\n\r");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_FALSE(r.done);
  EXPECT_EQ(status_of("0\r\n\n"), Status::Bad);
  EXPECT_EQ(status_of("0\r\n\rX"), Status::Bad);
  EXPECT_EQ(status_of("0\n\r\n"), Status::Bad);
}

TEST(ChunkedDecoder, Trailers) {
  Result r = decode("5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:abc\r\nEmpty:\r\n\r\nNEXT");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.data, "hello");
  EXPECT_EQ(
      std::string_view("5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:abc\r\nEmpty:\r\n\r\n").size(),
      r.consumed);
  EXPECT_TRUE(decode("0\r\nX: caf\xc3\xa9\t ok\r\n\r\n").done);

  for (std::string_view in : {
           "0\r\nX : y\r\n\r\n",  // space before colon
           "0\r\n X: y\r\n\r\n",  // obs-fold / leading space
           "0\r\nX: y\r\n z\r\n\r\n",
           "0\r\nNoColon\r\n\r\n",   //
           "0\r\n: y\r\n\r\n",       // empty name
           "0\r\nX: a\x01\r\n\r\n",  // CTL
           "0\r\nX: a\x7f\r\n\r\n",  //
           "0\r\nX: a\nb\r\n\r\n",   // bare LF
           "0\r\nX: a\rb\r\n\r\n",   // bare CR
           "0\r\nX: y\n\r\n",        //
           "0\r\nX(y): z\r\n\r\n",   //
       }) {
    EXPECT_EQ(status_of(in), Status::Bad) << in;
    EXPECT_EQ(decode_bytewise(in).status, Status::Bad) << in;
  }
  EXPECT_EQ(status_of("0\r\nX: a\0b\r\n\r\n"s), Status::Bad);
}

TEST(ChunkedDecoder, TrailerLimit) {
  std::string trailers;
  while (trailers.size() + 40 < ChunkedDecoder::kMaxTrailer)
    trailers += "X-Pad: " + std::string(30, 'p') + "\r\n";
  Result r = decode("0\r\n" + trailers + "\r\n");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_TRUE(r.done);
  // One long field past the limit, caught before its end.
  EXPECT_EQ(status_of("0\r\nX-Big: " + std::string(ChunkedDecoder::kMaxTrailer, 'b')), Status::Bad);
  // Exactly at the limit (the final CRLF included), and one byte over.
  std::string exact = "X: " + std::string(ChunkedDecoder::kMaxTrailer - 7, 'v') + "\r\n";
  EXPECT_EQ(exact.size() + 2, ChunkedDecoder::kMaxTrailer);
  EXPECT_TRUE(decode("0\r\n" + exact + "\r\n").done);
  exact.insert(3, "v");
  EXPECT_EQ(status_of("0\r\n" + exact + "\r\n"), Status::Bad);
}

TEST(ChunkedDecoder, BadIsSticky) {
  ChunkedDecoder dec;
  size_t used = 0;
  EXPECT_EQ(dec.feed("zz\r\n", used, [](std::string_view) {}), Status::Bad);
  EXPECT_EQ(dec.feed("5\r\nhello\r\n0\r\n\r\n", used, [](std::string_view) { FAIL(); }),
            Status::Bad);
  EXPECT_FALSE(dec.done());
}

TEST(ChunkedDecoder, DataReportedAsItArrives) {
  ChunkedDecoder dec;
  size_t used = 0;
  std::vector<std::string> pieces;
  auto sink = [&](std::string_view d) { pieces.emplace_back(d); };
  ASSERT_EQ(dec.feed("a\r\n012", used, sink), Status::Ok);
  EXPECT_EQ(used, 6u);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0], "012");
  ASSERT_EQ(dec.feed("3456", used, sink), Status::Ok);
  EXPECT_EQ(used, 4u);
  ASSERT_EQ(dec.feed("789\r", used, sink), Status::Ok);
  EXPECT_EQ(used, 4u);
  ASSERT_EQ(dec.feed("\n0\r\n\r\n", used, sink), Status::Ok);
  EXPECT_TRUE(dec.done());
  EXPECT_EQ(pieces, (std::vector<std::string>{"012", "3456", "789"}));
  EXPECT_EQ(dec.total(), 10u);
}

TEST(ChunkedDecoder, EmptyFeed) {
  ChunkedDecoder dec;
  size_t used = 7;
  EXPECT_EQ(dec.feed("", used, [](std::string_view) { FAIL(); }), Status::Ok);
  EXPECT_EQ(used, 0u);
  EXPECT_FALSE(dec.done());
}

TEST(ChunkedDecoder, BytewiseMatchesOnePiece) {
  const std::string body =
      "4;ext=1\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n"
      "10\r\n0123456789abcdef\r\n0;final\r\nX-Checksum: 42\r\n\r\nrest";
  const Result whole = decode(body);
  const Result bytes = decode_bytewise(body);
  EXPECT_EQ(whole.status, Status::Ok);
  EXPECT_EQ(bytes.status, Status::Ok);
  EXPECT_TRUE(whole.done);
  EXPECT_TRUE(bytes.done);
  EXPECT_EQ(whole.data, "Wikipedia in \r\n\r\nchunks.0123456789abcdef");
  EXPECT_EQ(bytes.data, whole.data);
  EXPECT_EQ(bytes.consumed, whole.consumed);
  EXPECT_EQ(whole.consumed, body.size() - 4);
  EXPECT_EQ(bytes.total, whole.total);
}

// Random valid chunked streams, cut at random points: the same data, the same end.
TEST(ChunkedDecoder, RandomSplits) {
  std::mt19937_64 rng(0xC0FFEE);
  const char hex[] = "0123456789abcdef";
  for (int round = 0; round < 300; ++round) {
    std::string stream, expected;
    const int chunks = static_cast<int>(rng() % 8);
    for (int c = 0; c < chunks; ++c) {
      const size_t size = 1 + rng() % (rng() % 4 == 0 ? 5000 : 40);
      std::string size_hex;
      for (size_t v = size; v; v >>= 4) size_hex.insert(size_hex.begin(), hex[v & 15]);
      if (rng() % 4 == 0) size_hex.insert(0, rng() % 3, '0');
      if (rng() % 2) size_hex[0] = static_cast<char>(std::toupper(size_hex[0]));
      stream += size_hex;
      if (rng() % 3 == 0) stream += rng() % 2 ? ";a=b" : " ; name=\"v;\"";
      stream += "\r\n";
      std::string data;
      for (size_t i = 0; i < size; ++i) data += static_cast<char>(rng() & 0xFF);
      stream += data + "\r\n";
      expected += data;
    }
    stream += "0";
    if (rng() % 3 == 0) stream += ";end";
    stream += "\r\n";
    for (int t = 0, n = static_cast<int>(rng() % 3); t < n; ++t)
      stream += "X-T" + std::to_string(t) + ": v" + std::to_string(rng() % 1000) + "\r\n";
    stream += "\r\n";
    const size_t body_size = stream.size();
    stream += "GET /next HTTP/1.1\r\n\r\n";

    std::vector<size_t> cuts;
    for (size_t at = rng() % 16; at < stream.size(); at += 1 + rng() % (rng() % 2 ? 7 : 700))
      cuts.push_back(at);
    const Result r = decode_split(stream, cuts);
    ASSERT_EQ(r.status, Status::Ok) << round;
    ASSERT_TRUE(r.done) << round;
    ASSERT_EQ(r.data, expected) << round;
    ASSERT_EQ(r.consumed, body_size) << round;
    ASSERT_EQ(r.total, expected.size()) << round;
  }
}

}  // namespace
}  // namespace proxy::http

namespace proxy::http {
namespace {

// Trailers kept for the next hop come out as they came, the final empty line left out, however
// the input is split.
TEST(ChunkedDecoder, KeepsTrailersWhenAsked) {
  const std::string in = "3\r\nabc\r\n0\r\nX-Sum: 12\r\nX-Other:\tv w\r\n\r\nNEXT";
  for (size_t step : {in.size(), size_t{1}, size_t{5}}) {
    ChunkedDecoder dec;
    std::string trailers;
    dec.keep_trailers(&trailers);
    std::string data;
    std::string buf;
    size_t pos = 0;
    while (!dec.done() && pos < in.size()) {
      buf += in.substr(pos, step);
      pos += step;
      size_t used = 0;
      ASSERT_EQ(dec.feed(buf, used, [&](std::string_view d) { data += d; }),
                ChunkedDecoder::Status::Ok);
      buf.erase(0, used);
    }
    EXPECT_TRUE(dec.done());
    EXPECT_EQ(data, "abc");
    EXPECT_EQ(trailers, "X-Sum: 12\r\nX-Other:\tv w\r\n") << "step " << step;
  }
}

TEST(ChunkedDecoder, NoTrailersKeptByDefaultOrWhenNoneCame) {
  ChunkedDecoder dec;
  std::string trailers;
  dec.keep_trailers(&trailers);
  size_t used = 0;
  dec.feed("0\r\n\r\n", used, [](std::string_view) {});
  EXPECT_TRUE(dec.done());
  EXPECT_TRUE(trailers.empty());
}

}  // namespace
}  // namespace proxy::http
