#include "proxy/tcp/proxy_header.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace proxy::tcp_relay {
namespace {

namespace ip = boost::asio::ip;
using ip::tcp;

constexpr std::array<uint8_t, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view kV1Prefix = "PROXY ";

constexpr uint8_t kV2Version = 0x20;
constexpr uint8_t kCmdLocal = 0x00;
constexpr uint8_t kCmdProxy = 0x01;
constexpr uint8_t kFamInet = 0x10;
constexpr uint8_t kFamInet6 = 0x20;
constexpr uint8_t kProtoStream = 0x01;

constexpr uint8_t kTypeAuthority = 0x02;
constexpr uint8_t kTypeSsl = 0x20;
constexpr uint8_t kSubtypeSslVersion = 0x21;
constexpr uint8_t kSubtypeSslCipher = 0x23;
constexpr uint8_t kClientSsl = 0x01;

ip::address_v6 as_v6(const ip::address& a) {
  return a.is_v6() ? a.to_v6() : ip::make_address_v6(ip::v4_mapped, a.to_v4());
}

bool both_v4(const tcp::endpoint& a, const tcp::endpoint& b) {
  return a.address().is_v4() && b.address().is_v4();
}

size_t encode_v1(const tcp::endpoint& src, const tcp::endpoint& dst, uint8_t* out) {
  char* p = reinterpret_cast<char*>(out);
  char* const begin = p;
  auto put = [&](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  auto put_addr = [&](const ip::address& a, bool v4) {
    char buf[INET6_ADDRSTRLEN];
    if (v4) {
      auto b = a.to_v4().to_bytes();
      ::inet_ntop(AF_INET, b.data(), buf, sizeof buf);
    } else {
      auto b = as_v6(a).to_bytes();
      ::inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
    }
    put(buf);
  };
  auto put_port = [&](uint16_t port) { p = std::to_chars(p, p + 5, port).ptr; };
  bool v4 = both_v4(src, dst);
  put(v4 ? "PROXY TCP4 " : "PROXY TCP6 ");
  put_addr(src.address(), v4);
  *p++ = ' ';
  put_addr(dst.address(), v4);
  *p++ = ' ';
  put_port(src.port());
  *p++ = ' ';
  put_port(dst.port());
  put("\r\n");
  return static_cast<size_t>(p - begin);
}

// One TLV at p; a value longer than `max` is left out. Returns the end.
uint8_t* put_tlv(uint8_t* p, uint8_t type, std::string_view value, size_t max) {
  if (value.empty() || value.size() > max) return p;
  p[0] = type;
  p[1] = static_cast<uint8_t>(value.size() >> 8);
  p[2] = static_cast<uint8_t>(value.size());
  std::memcpy(p + 3, value.data(), value.size());
  return p + 3 + value.size();
}

// PP2_TYPE_SSL: client bit field, verify (non-zero: no client certificate was verified), then
// the sub-TLVs; then PP2_TYPE_AUTHORITY.
uint8_t* put_tls(uint8_t* p, const ClientTls& tls) {
  uint8_t* const ssl = p;
  ssl[0] = kTypeSsl;
  ssl[3] = kClientSsl;
  ssl[4] = ssl[5] = ssl[6] = 0;
  ssl[7] = 1;
  p = put_tlv(ssl + 8, kSubtypeSslVersion, tls.version, kMaxTlsVersionValue);
  p = put_tlv(p, kSubtypeSslCipher, tls.cipher, kMaxTlsCipherValue);
  const size_t len = static_cast<size_t>(p - ssl) - 3;
  ssl[1] = static_cast<uint8_t>(len >> 8);
  ssl[2] = static_cast<uint8_t>(len);
  return put_tlv(p, kTypeAuthority, tls.server_name, kMaxAuthorityValue);
}

size_t encode_v2(const tcp::endpoint& src, const tcp::endpoint& dst, const ClientTls& tls,
                 uint8_t* out) {
  std::memcpy(out, kV2Signature.data(), kV2Signature.size());
  out[12] = kV2Version | kCmdProxy;
  uint8_t* p = out + 16;
  if (both_v4(src, dst)) {
    out[13] = kFamInet | kProtoStream;
    auto s = src.address().to_v4().to_bytes();
    auto d = dst.address().to_v4().to_bytes();
    std::memcpy(p, s.data(), 4);
    std::memcpy(p + 4, d.data(), 4);
    p += 8;
  } else {
    out[13] = kFamInet6 | kProtoStream;
    auto s = as_v6(src.address()).to_bytes();
    auto d = as_v6(dst.address()).to_bytes();
    std::memcpy(p, s.data(), 16);
    std::memcpy(p + 16, d.data(), 16);
    p += 32;
  }
  p[0] = static_cast<uint8_t>(src.port() >> 8);
  p[1] = static_cast<uint8_t>(src.port());
  p[2] = static_cast<uint8_t>(dst.port() >> 8);
  p[3] = static_cast<uint8_t>(dst.port());
  p += 4;
  if (tls.used) p = put_tls(p, tls);
  size_t len = static_cast<size_t>(p - out) - 16;
  out[14] = static_cast<uint8_t>(len >> 8);
  out[15] = static_cast<uint8_t>(len);
  return static_cast<size_t>(p - out);
}

ParsedHeader invalid(std::string_view why) {
  ParsedHeader h;
  h.status = ParseStatus::Invalid;
  h.error = why;
  return h;
}

// Splits off the next space-separated field of a v1 line.
bool next_field(std::string_view& rest, std::string_view& field) {
  size_t sp = rest.find(' ');
  field = rest.substr(0, sp);
  if (field.empty()) return false;
  rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
  return true;
}

bool parse_port(std::string_view s, uint16_t& port) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

bool parse_ip(std::string_view s, bool v4, ip::address& out) {
  char buf[INET6_ADDRSTRLEN];
  if (s.size() >= sizeof buf) return false;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  if (v4) {
    std::array<unsigned char, 4> b;
    if (::inet_pton(AF_INET, buf, b.data()) != 1) return false;
    out = ip::address_v4(b);
  } else {
    std::array<unsigned char, 16> b;
    if (::inet_pton(AF_INET6, buf, b.data()) != 1) return false;
    out = ip::address_v6(b);
  }
  return true;
}

ParsedHeader parse_v1(std::span<const uint8_t> data) {
  std::string_view text(reinterpret_cast<const char*>(data.data()),
                        std::min(data.size(), kMaxV1Header));
  size_t crlf = text.find("\r\n");
  if (crlf == std::string_view::npos) {
    if (data.size() >= kMaxV1Header) return invalid("PROXY v1 line longer than 107 bytes");
    if (text.find_first_of(std::string_view("\r\n\0", 3)) < text.size() - 1 ||
        (!text.empty() && text.back() == '\n'))
      return invalid("PROXY v1 line with a stray CR, LF or NUL");
    ParsedHeader h;
    h.status = ParseStatus::NeedMore;
    return h;
  }
  std::string_view rest = text.substr(kV1Prefix.size(), crlf - kV1Prefix.size());
  ParsedHeader h;
  h.version = ProxyVersion::V1;
  h.length = crlf + 2;
  std::string_view proto;
  if (!next_field(rest, proto)) return invalid("PROXY v1 line without a protocol");
  if (proto == "UNKNOWN") {
    h.status = ParseStatus::Complete;  // the rest of the line is to be ignored (spec)
    return h;
  }
  bool v4 = proto == "TCP4";
  if (!v4 && proto != "TCP6") return invalid("PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN");
  std::string_view f[4];
  for (auto& field : f)
    if (!next_field(rest, field)) return invalid("PROXY v1 line with missing fields");
  if (!rest.empty()) return invalid("PROXY v1 line with extra fields");
  ip::address src, dst;
  uint16_t sport = 0, dport = 0;
  if (!parse_ip(f[0], v4, src) || !parse_ip(f[1], v4, dst))
    return invalid(v4 ? "PROXY v1 TCP4 with a bad IPv4 address"
                      : "PROXY v1 TCP6 with a bad IPv6 address");
  if (!parse_port(f[2], sport) || !parse_port(f[3], dport))
    return invalid("PROXY v1 line with a bad port");
  h.status = ParseStatus::Complete;
  h.has_addresses = true;
  h.source = tcp::endpoint(src, sport);
  h.destination = tcp::endpoint(dst, dport);
  return h;
}

ParsedHeader parse_v2(std::span<const uint8_t> data) {
  if (data.size() < kV2FixedHeader) return ParsedHeader{};
  uint8_t ver_cmd = data[12];
  if ((ver_cmd & 0xF0) != kV2Version) return invalid("PROXY v2 header with an unknown version");
  uint8_t cmd = ver_cmd & 0x0F;
  if (cmd != kCmdLocal && cmd != kCmdProxy)
    return invalid("PROXY v2 header with an unknown command");
  size_t len = (size_t{data[14]} << 8) | data[15];
  if (kV2FixedHeader + len > kMaxV2Header) return invalid("PROXY v2 header longer than 528 bytes");
  uint8_t fam = data[13];
  size_t need = fam == (kFamInet | kProtoStream) ? 12 : fam == (kFamInet6 | kProtoStream) ? 36 : 0;
  if (len < need) return invalid("PROXY v2 address block shorter than its family needs");
  if (data.size() < kV2FixedHeader + len) return ParsedHeader{};
  ParsedHeader h;
  h.status = ParseStatus::Complete;
  h.version = ProxyVersion::V2;
  h.length = kV2FixedHeader + len;
  if (cmd == kCmdLocal || need == 0) return h;  // LOCAL, or UNSPEC/UDP/unix: keep our own
  const uint8_t* a = data.data() + kV2FixedHeader;
  auto port_at = [](const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); };
  if (need == 12) {
    std::array<unsigned char, 4> s, d;
    std::memcpy(s.data(), a, 4);
    std::memcpy(d.data(), a + 4, 4);
    h.source = tcp::endpoint(ip::address_v4(s), port_at(a + 8));
    h.destination = tcp::endpoint(ip::address_v4(d), port_at(a + 10));
  } else {
    std::array<unsigned char, 16> s, d;
    std::memcpy(s.data(), a, 16);
    std::memcpy(d.data(), a + 16, 16);
    h.source = tcp::endpoint(ip::address_v6(s), port_at(a + 32));
    h.destination = tcp::endpoint(ip::address_v6(d), port_at(a + 34));
  }
  h.has_addresses = true;
  return h;
}

}  // namespace

size_t encode_proxy_header(ProxyVersion version, const tcp::endpoint& source,
                           const tcp::endpoint& destination, std::span<uint8_t, kMaxEncoded> out,
                           const ClientTls& tls) {
  switch (version) {
    case ProxyVersion::V1:
      return encode_v1(source, destination, out.data());
    case ProxyVersion::V2:
      return encode_v2(source, destination, tls, out.data());
    case ProxyVersion::Off:
      break;
  }
  return 0;
}

std::string encode_proxy_header(ProxyVersion version, const tcp::endpoint& source,
                                const tcp::endpoint& destination, const ClientTls& tls) {
  std::array<uint8_t, kMaxEncoded> buf;
  size_t n = encode_proxy_header(version, source, destination, buf, tls);
  return std::string(reinterpret_cast<const char*>(buf.data()), n);
}

ParsedHeader parse_proxy_header(std::span<const uint8_t> data) {
  size_t n = std::min(data.size(), kV2Signature.size());
  if (std::equal(data.begin(), data.begin() + static_cast<ptrdiff_t>(n), kV2Signature.begin()))
    return parse_v2(data);
  n = std::min(data.size(), kV1Prefix.size());
  if (std::memcmp(data.data(), kV1Prefix.data(), n) == 0) {
    if (data.size() < kV1Prefix.size()) return ParsedHeader{};
    return parse_v1(data);
  }
  return invalid("no PROXY protocol header");
}

bool looks_like_proxy_header(std::span<const uint8_t> first) {
  std::string_view text(reinterpret_cast<const char*>(first.data()), first.size());
  if (first.size() >= kV2Signature.size() &&
      std::equal(kV2Signature.begin(), kV2Signature.end(), first.begin()))
    return true;
  return text.starts_with("PROXY TCP4 ") || text.starts_with("PROXY TCP6 ") ||
         text.starts_with("PROXY UNKNOWN");
}

}  // namespace proxy::tcp_relay
