#include "proxy/http/message_head.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>

namespace proxy::http {
namespace {

// Character classes, one table lookup per byte.
enum : uint8_t {
  kToken = 1,   // tchar (RFC 9110 5.6.2)
  kValue = 2,   // field-vchar, SP or HTAB: HTAB, 0x20-0x7E, 0x80-0xFF
  kTarget = 4,  // request-target bytes: visible ASCII 0x21-0x7E
  kDigit = 8,
};

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> t{};
  constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  for (int c = 0; c < 256; ++c) {
    const bool upper = c >= 'A' && c <= 'Z';
    const bool lower = c >= 'a' && c <= 'z';
    const bool digit = c >= '0' && c <= '9';
    uint8_t k = 0;
    if (upper || lower || digit || kTokenPunct.find(static_cast<char>(c)) != std::string_view::npos)
      k |= kToken;
    if (c == '\t' || (c >= 0x20 && c != 0x7F)) k |= kValue;
    if (c >= 0x21 && c <= 0x7E) k |= kTarget;
    if (digit) k |= kDigit;
    t[static_cast<size_t>(c)] = k;
  }
  return t;
}

constexpr std::array<char, 256> make_lower() {
  std::array<char, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[static_cast<size_t>(c)] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return t;
}

constexpr auto kClass = make_classes();
constexpr auto kLower = make_lower();

inline uint8_t cls(char c) {
  return kClass[static_cast<unsigned char>(c)];
}
inline bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

// Compares with a literal already in lower case.
inline bool iequals_lower(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (kLower[static_cast<unsigned char>(a[i])] != lower[i]) return false;
  return true;
}

inline std::string_view trim_ows(std::string_view v) {
  size_t b = 0, e = v.size();
  while (b < e && is_ows(v[b])) ++b;
  while (e > b && is_ows(v[e - 1])) --e;
  return v.substr(b, e - b);
}

// Calls fn(element) for each non-empty, OWS-trimmed element of a comma-separated list.
template <class Fn>
inline void for_each_element(std::string_view list, Fn&& fn) {
  size_t i = 0;
  while (i <= list.size()) {
    size_t comma = list.find(',', i);
    if (comma == std::string_view::npos) comma = list.size();
    const std::string_view element = trim_ows(list.substr(i, comma - i));
    if (!element.empty()) fn(element);
    i = comma + 1;
  }
}

// Word-at-a-time helpers (8 bytes per step). Each answers "does any byte of x ...", exactly.
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;
inline uint64_t load8(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}
// ... have a value below n (n <= 128)?
inline uint64_t any_below(uint64_t x, uint8_t n) {
  return (x - kOnes * n) & ~x & kHighs;
}
// ... equal c?
inline uint64_t any_equal(uint64_t x, uint8_t c) {
  const uint64_t y = x ^ (kOnes * c);
  return (y - kOnes) & ~y & kHighs;
}

// Offset of the first flagged byte of a mask made by any_below / any_equal. Only the flag of
// the lowest-addressed byte is exact (a borrow can flag bytes after it), which is all we use;
// on big-endian targets the borrow runs the other way, so the callers scan bytes instead.
constexpr bool kLittleEndian = std::endian::native == std::endian::little;
inline unsigned first_flagged(uint64_t mask) {
  return static_cast<unsigned>(std::countr_zero(mask)) / 8;
}

// Skips field-value bytes from s; stops at the first other byte, which must exist before `end`
// (every line of a located head ends in CR, which is not a value byte).
inline const char* scan_value(const char* s, const char* end) {
  if constexpr (kLittleEndian) {
    while (end - s >= 8) {
      const uint64_t x = load8(s);
      const uint64_t m = any_below(x, 0x20) | any_equal(x, 0x7F);  // a CTL or HTAB
      if (m == 0) {
        s += 8;
        continue;
      }
      s += first_flagged(m);
      if (*s != '\t') return s;
      ++s;
    }
  }
  while (cls(*s) & kValue) ++s;
  return s;
}

// Skips request-target bytes (0x21-0x7E) from s, same contract as scan_value.
inline const char* scan_target(const char* s, const char* end) {
  if constexpr (kLittleEndian) {
    while (end - s >= 8) {
      const uint64_t x = load8(s);
      const uint64_t m = any_below(x, 0x21) | any_equal(x, 0x7F) | (x & kHighs);
      if (m != 0) return s + first_flagged(m);
      s += 8;
    }
  }
  while (cls(*s) & kTarget) ++s;
  return s;
}

// Skips token bytes from s; stops at the first other byte (the CR ending the line at worst).
inline const char* scan_token(const char* s) {
  while (cls(*s) & kToken) ++s;
  return s;
}

// A field name: skips token bytes like scan_token, a word at a time. Words are cut at the first
// ':' or byte below 0x21; the bytes before the cut are checked against the table without a
// branch per byte, and the byte-wise scan takes over on any other byte.
inline const char* scan_name(const char* s, const char* end) {
  if constexpr (kLittleEndian) {
    while (end - s >= 8) {
      const uint64_t x = load8(s);
      const uint64_t m = any_below(x, 0x21) | any_equal(x, ':');
      const unsigned n = m == 0 ? 8 : first_flagged(m);
      uint8_t all = kToken;
      for (unsigned i = 0; i < n; ++i) all &= cls(s[i]);
      if (!(all & kToken)) break;
      s += n;
      if (n < 8) return s;
    }
  }
  return scan_token(s);
}

// Reads "HTTP/" DIGIT "." DIGIT at s (at least 8 readable bytes). Returns 10 or 11, 1 for any
// other well-formed version, 0 when malformed.
inline unsigned read_version(const char* s) {
  if (std::memcmp(s, "HTTP/", 5) != 0 || !(cls(s[5]) & kDigit) || s[6] != '.' ||
      !(cls(s[7]) & kDigit))
    return 0;
  if (s[5] == '1' && (s[7] == '0' || s[7] == '1')) return s[7] == '0' ? 10 : 11;
  return 1;
}

// Where the head lies in the buffer.
struct Located {
  HeadStatus status;    // Complete when the final empty line was found
  size_t begin = 0;     // start line offset (after a skipped leading CRLF)
  size_t end = 0;       // offset just past the final CRLF CRLF (Complete)
  size_t first_cr = 0;  // offset of the CR ending the start line, if that line is complete
  bool first_done = false;
  size_t limit = 0;  // min(data.size(), max_size)
};

// Finds the end of the head with memchr over line feeds, checking that each is preceded by a
// CR. Nothing past max_size is looked at.
Located locate(std::string_view data, size_t max_size, bool request) {
  const char* p = data.data();
  Located r{HeadStatus::Incomplete};
  r.limit = std::min(data.size(), max_size);
  // RFC 9112 2.2: one empty line before the request line may be ignored.
  if (request && r.limit >= 2 && p[0] == '\r' && p[1] == '\n') r.begin = 2;
  size_t line = r.begin;
  size_t lines = 0;
  while (line < r.limit) {
    const void* hit = std::memchr(p + line, '\n', r.limit - line);
    if (hit == nullptr) break;
    const size_t lf = static_cast<size_t>(static_cast<const char*>(hit) - p);
    if (lf == line || p[lf - 1] != '\r') {
      r.status = HeadStatus::Bad;  // bare LF
      return r;
    }
    if (lf - 1 == line) {
      r.status = HeadStatus::Complete;
      r.end = lf + 1;
      return r;
    }
    if (p[line] == '\r') {  // "\r\r\n": a bare CR where a line should start
      r.status = HeadStatus::Bad;
      return r;
    }
    if (++lines > kMaxFields + 1) {  // start line + kMaxFields fields
      r.status = HeadStatus::TooLarge;
      return r;
    }
    if (!r.first_done) {
      r.first_done = true;
      r.first_cr = lf - 1;
    }
    line = lf + 1;
  }
  // In the incomplete last line, a CR anywhere but at its very end is a bare CR.
  if (line + 1 < r.limit && std::memchr(p + line, '\r', r.limit - line - 1) != nullptr) {
    r.status = HeadStatus::Bad;
    return r;
  }
  r.status = data.size() > max_size ? HeadStatus::TooLarge : HeadStatus::Incomplete;
  return r;
}

// Request line at s; `end` bounds the buffer and the line ends in CRLF before it. On success
// returns Complete and leaves s at the next line.
HeadStatus parse_request_line(const char*& s, const char* end, RequestHead& out) {
  const char* m = s;
  s = scan_token(s);
  if (s == m || *s != ' ') return HeadStatus::Bad;
  out.method = std::string_view(m, static_cast<size_t>(s - m));
  const char* t = ++s;
  s = scan_target(s, end);
  if (s == t || *s != ' ') return HeadStatus::Bad;
  out.target = std::string_view(t, static_cast<size_t>(s - t));
  ++s;
  if (end - s < 10) return HeadStatus::Bad;  // "HTTP/1.1" CR LF
  const unsigned v = read_version(s);
  if (v == 0 || s[8] != '\r' || s[9] != '\n') return HeadStatus::Bad;
  if (v == 1) return HeadStatus::BadVersion;
  out.version = v;
  s += 10;
  return HeadStatus::Complete;
}

// Status line at s, same contract as parse_request_line.
HeadStatus parse_status_line(const char*& s, const char* end, ResponseHead& out) {
  if (end - s < 14) return HeadStatus::Bad;  // "HTTP/1.1 200" CR LF
  const unsigned v = read_version(s);
  if (v == 0 || s[8] != ' ') return HeadStatus::Bad;
  s += 9;
  const char d0 = s[0], d1 = s[1], d2 = s[2];
  if (d0 < '1' || d0 > '9' || !(cls(d1) & kDigit) || !(cls(d2) & kDigit)) return HeadStatus::Bad;
  out.status = static_cast<unsigned>((d0 - '0') * 100 + (d1 - '0') * 10 + (d2 - '0'));
  s += 3;
  const char* r = s;
  if (*s == ' ') {
    r = ++s;
    s = scan_value(s, end);
  }
  if (s[0] != '\r' || s[1] != '\n') return HeadStatus::Bad;
  out.reason = std::string_view(r, static_cast<size_t>(s - r));
  if (v == 1) return HeadStatus::BadVersion;
  out.version = v;
  s += 2;
  return HeadStatus::Complete;
}

// Prefix checks on a start line that has not fully arrived: fail early on what can never
// become valid (a TLS handshake on a plain port, binary junk).
HeadStatus check_partial_start(const char* p, const Located& loc, bool request) {
  const char* s = p + loc.begin;
  const char* lim = p + loc.limit;
  if (request) {
    const char* m = s;
    while (s < lim && (cls(*s) & kToken)) ++s;
    if (s == lim) return HeadStatus::Incomplete;
    if (*s == ' ' && s != m) return HeadStatus::Incomplete;
    if (*s == '\r' && s + 1 == lim) return HeadStatus::Incomplete;
    return HeadStatus::Bad;
  }
  const size_t n = std::min<size_t>(static_cast<size_t>(lim - s), 5);
  return std::memcmp(s, "HTTP/", n) == 0 ? HeadStatus::Incomplete : HeadStatus::Bad;
}

// digits *( OWS "," OWS digits ), every element the same string; value at most 2^63 - 1.
bool parse_content_length(std::string_view v, uint64_t& out) {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  const char* s = v.data();
  const char* e = s + v.size();
  const char* d = s;
  uint64_t n = 0;
  while (s < e && (cls(*s) & kDigit)) {
    const auto digit = static_cast<uint64_t>(*s - '0');
    if (n > (kMax - digit) / 10) return false;
    n = n * 10 + digit;
    ++s;
  }
  if (s == d) return false;
  const std::string_view first(d, static_cast<size_t>(s - d));
  while (s < e) {
    while (s < e && is_ows(*s)) ++s;
    if (s == e || *s != ',') return false;
    ++s;
    while (s < e && is_ows(*s)) ++s;
    const char* d2 = s;
    while (s < e && (cls(*s) & kDigit)) ++s;
    if (std::string_view(d2, static_cast<size_t>(s - d2)) != first) return false;
  }
  out = n;
  return true;
}

struct Framing {
  bool chunked_seen = false;
  bool last_chunked = false;
  bool other = false;  // a coding other than chunked
};

// One Transfer-Encoding field: a list of codings, each a bare token.
bool parse_transfer_encoding(std::string_view v, Framing& f) {
  bool ok = true, any = false;
  for_each_element(v, [&](std::string_view coding) {
    for (char c : coding)
      if (!(cls(c) & kToken)) ok = false;
    any = true;
    if (iequals_lower(coding, "chunked")) {
      if (f.chunked_seen) ok = false;  // chunked applied twice
      f.chunked_seen = f.last_chunked = true;
    } else {
      f.last_chunked = false;
      f.other = true;
    }
  });
  return ok && any;
}

void parse_connection(std::string_view v, MessageHead& out) {
  for_each_element(v, [&](std::string_view token) {
    if (iequals_lower(token, "close"))
      out.connection_close = true;
    else if (iequals_lower(token, "keep-alive"))
      out.connection_keep_alive = true;
    else if (iequals_lower(token, "upgrade"))
      out.connection_upgrade = true;
  });
}

void reset(MessageHead& h) {
  h.version = 11;
  h.nfields = 0;
  h.size = 0;
  h.content_length.reset();
  h.chunked = false;
  h.has_transfer_encoding = false;
  h.other_coding = false;
  h.connection_close = false;
  h.connection_keep_alive = false;
  h.connection_upgrade = false;
  h.upgrade = {};
}

// Header fields from s up to and including the final empty line, which ends at `end`.
template <bool kRequest, class Head>
HeadStatus parse_fields(const char* s, const char* end, Head& out, Framing& framing) {
  for (;;) {
    if (*s == '\r') {
      // The empty line; locate() made it the last one.
      return s[1] == '\n' && s + 2 == end ? HeadStatus::Complete : HeadStatus::Bad;
    }
    if (out.nfields == kMaxFields) return HeadStatus::TooLarge;
    // A line starting with SP/HTAB (obs-fold), a space before ':', an empty name: all fail here.
    const char* n = s;
    s = scan_name(s, end);
    if (s == n || *s != ':') return HeadStatus::Bad;
    const std::string_view name(n, static_cast<size_t>(s - n));
    ++s;
    while (is_ows(*s)) ++s;
    const char* v = s;
    s = scan_value(s, end);
    if (s[0] != '\r' || s[1] != '\n') return HeadStatus::Bad;  // CTL, bare CR or LF
    const char* ve = s;
    while (ve > v && is_ows(ve[-1])) --ve;
    const std::string_view value(v, static_cast<size_t>(ve - v));
    s += 2;
    out.fields[out.nfields++] = HeaderField{name, value};

    // Fields that matter to framing and routing, picked by length first.
    switch (name.size()) {
      case 4:
        if constexpr (kRequest) {
          if (iequals_lower(name, "host")) {
            if (out.host_count++ == 0) out.host = value;
          }
        }
        break;
      case 6:
        if constexpr (kRequest) {
          if (iequals_lower(name, "expect") && iequals_lower(value, "100-continue"))
            out.expect_continue = true;
        }
        break;
      case 7:
        if (iequals_lower(name, "upgrade") && out.upgrade.empty()) out.upgrade = value;
        break;
      case 10:
        if (iequals_lower(name, "connection")) parse_connection(value, out);
        break;
      case 14:
        if (iequals_lower(name, "content-length")) {
          uint64_t length = 0;
          if (!parse_content_length(value, length)) return HeadStatus::Bad;
          if (out.content_length && *out.content_length != length) return HeadStatus::Bad;
          out.content_length = length;
        }
        break;
      case 17:
        if (iequals_lower(name, "transfer-encoding")) {
          out.has_transfer_encoding = true;
          if (!parse_transfer_encoding(value, framing)) return HeadStatus::Bad;
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (kLower[static_cast<unsigned char>(a[i])] != kLower[static_cast<unsigned char>(b[i])])
      return false;
  return true;
}

bool MessageHead::connection_names(std::string_view field_name) const {
  bool found = false;
  for (uint16_t i = 0; i < nfields && !found; ++i) {
    if (!iequals_lower(fields[i].name, "connection")) continue;
    for_each_element(fields[i].value, [&](std::string_view token) {
      if (iequals(token, field_name)) found = true;
    });
  }
  return found;
}

std::string_view MessageHead::get(std::string_view name) const {
  for (uint16_t i = 0; i < nfields; ++i)
    if (iequals(fields[i].name, name)) return fields[i].value;
  return {};
}

bool MessageHead::keep_alive() const {
  if (connection_close) return false;
  return version == 11 || connection_keep_alive;
}

// The part both heads share: locate the head, judge an incomplete one as early as its start
// line allows, then parse the start line and the fields.
template <bool kRequest, class Head, class StartLine>
HeadStatus parse_head(std::string_view data, size_t max_size, Head& out, Framing& framing,
                      StartLine start_line) {
  const Located loc = locate(data, max_size, kRequest);
  const char* p = data.data();
  if (loc.status == HeadStatus::Bad) return loc.status;
  if (loc.status != HeadStatus::Complete) {
    HeadStatus early;
    if (loc.first_done) {
      const char* s = p + loc.begin;
      early = start_line(s, p + loc.first_cr + 2, out);
    } else {
      early = check_partial_start(p, loc, kRequest);
    }
    if (early == HeadStatus::Bad || early == HeadStatus::BadVersion) return early;
    return loc.status;
  }
  const char* s = p + loc.begin;
  const char* end = p + loc.end;
  HeadStatus st = start_line(s, end, out);
  if (st != HeadStatus::Complete) return st;
  st = parse_fields<kRequest>(s, end, out, framing);
  if (st == HeadStatus::Complete) out.size = loc.end;
  return st;
}

HeadStatus parse_request_head(std::string_view data, size_t max_size, RequestHead& out) {
  reset(out);
  out.method = {};
  out.target = {};
  out.host = {};
  out.host_count = 0;
  out.expect_continue = false;
  Framing framing;
  HeadStatus st = parse_head<true>(
      data, max_size, out, framing,
      [](const char*& s, const char* e, RequestHead& h) { return parse_request_line(s, e, h); });
  if (st != HeadStatus::Complete) return st;
  if (out.has_transfer_encoding) {
    // RFC 9112 6.1 and 6.3: chunked must be final, and no Content-Length beside it; an
    // HTTP/1.0 message with Transfer-Encoding has faulty framing.
    if (out.version == 10 || !framing.last_chunked || out.content_length) return HeadStatus::Bad;
    out.chunked = true;
    out.other_coding = framing.other;
  }
  return HeadStatus::Complete;
}

HeadStatus parse_response_head(std::string_view data, size_t max_size, ResponseHead& out) {
  reset(out);
  out.status = 0;
  out.reason = {};
  Framing framing;
  HeadStatus st = parse_head<false>(
      data, max_size, out, framing,
      [](const char*& s, const char* e, ResponseHead& h) { return parse_status_line(s, e, h); });
  if (st != HeadStatus::Complete) return st;
  if (out.has_transfer_encoding) {
    // RFC 9112 6.3: Transfer-Encoding overrides Content-Length; a final coding other than
    // chunked means the body runs to the close of the connection.
    if (out.version == 10 || framing.other) return HeadStatus::Bad;
    out.content_length.reset();
    out.chunked = framing.last_chunked;
  }
  return HeadStatus::Complete;
}

}  // namespace proxy::http
