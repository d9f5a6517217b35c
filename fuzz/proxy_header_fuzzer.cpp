// The PROXY protocol header reader and writer (proxy/tcp/proxy_header.cpp).
//
// The input is parsed as the first bytes of a connection: the header found never reaches past
// them nor the spec's limits. And the input also describes a connection (first byte: v1 or v2,
// IPv4 or IPv6 on each side, the client's TLS; then addresses, ports and the TLS strings):
// invariant, the header encoded for it parses back to the same addresses and length, followed
// by any payload, and every shorter prefix of it asks for more bytes.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/tcp/proxy_header.h"

namespace {

namespace ip = boost::asio::ip;
using ip::tcp;
using namespace proxy::tcp_relay;

class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  uint8_t byte() { return p_ < end_ ? *p_++ : 0; }
  template <size_t N>
  std::array<unsigned char, N> array() {
    std::array<unsigned char, N> out{};
    for (auto& b : out) b = byte();
    return out;
  }
  uint16_t port() { return static_cast<uint16_t>(byte() << 8 | byte()); }
  std::string_view string(size_t n) {
    n = std::min<size_t>(n, static_cast<size_t>(end_ - p_));
    std::string_view s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

[[noreturn]] void fail(const char* what, const std::string& header) {
  std::fprintf(stderr, "%s (header of %zu bytes)\n", what, header.size());
  std::abort();
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

tcp::endpoint endpoint(Input& in, bool v6) {
  if (v6) return {ip::address_v6(in.array<16>()), in.port()};
  return {ip::address_v4(in.array<4>()), in.port()};
}

// What the header says the address is: IPv4-mapped when the other side is IPv6.
ip::address as_sent(const ip::address& a, bool both_v4) {
  if (both_v4 || a.is_v6()) return a;
  return ip::make_address_v6(ip::v4_mapped, a.to_v4());
}

void check_parse(std::span<const uint8_t> data) {
  const ParsedHeader h = parse_proxy_header(data);
  if (h.status == ParseStatus::Complete) {
    if (h.length == 0 || h.length > data.size()) std::abort();
    if (h.length > std::max(kMaxV1Header, kMaxV2Header)) std::abort();
    if (!looks_like_proxy_header(data)) {
      std::fprintf(stderr, "a complete header that does not look like one\n");
      std::abort();
    }
  }
  if (h.status == ParseStatus::Invalid && h.error.empty()) std::abort();
}

void check_round_trip(Input& in) {
  const uint8_t flags = in.byte();
  const ProxyVersion version = (flags & 1) != 0 ? ProxyVersion::V2 : ProxyVersion::V1;
  const tcp::endpoint source = endpoint(in, (flags & 2) != 0);
  const tcp::endpoint destination = endpoint(in, (flags & 4) != 0);
  ClientTls tls;
  tls.used = (flags & 8) != 0;
  const size_t scale = (flags & 16) != 0 ? 2 : 1;  // up to 510 bytes, beyond every cap
  tls.version = in.string(in.byte() * scale);
  tls.cipher = in.string(in.byte() * scale);
  tls.server_name = in.string(in.byte() * scale);
  const std::string payload(in.string(in.byte()));

  const std::string header = encode_proxy_header(version, source, destination, tls);
  if (header.empty() || header.size() > kMaxEncoded) fail("encoded size out of bounds", header);
  if (version == ProxyVersion::V1 && header.size() > kMaxV1Header) fail("v1 too long", header);
  // Whatever the TLS strings, a v2 header Passeur writes is one its reader accepts.
  if (version == ProxyVersion::V2 && header.size() > kMaxV2Header) fail("v2 too long", header);
  for (size_t n = 0; n < header.size(); ++n) {
    if (parse_proxy_header(bytes(header).first(n)).status != ParseStatus::NeedMore) {
      fail("a prefix of an encoded header is not NeedMore", header);
    }
  }
  const std::string sent = header + payload;
  const ParsedHeader h = parse_proxy_header(bytes(sent));
  if (h.status != ParseStatus::Complete) fail("an encoded header does not parse", header);
  if (h.version != version || h.length != header.size() || !h.has_addresses) {
    fail("an encoded header parses to another version or length", header);
  }
  const bool both_v4 = source.address().is_v4() && destination.address().is_v4();
  if (h.source.address() != as_sent(source.address(), both_v4) ||
      h.source.port() != source.port() ||
      h.destination.address() != as_sent(destination.address(), both_v4) ||
      h.destination.port() != destination.port()) {
    fail("an encoded header parses to other addresses", header);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_parse({data, size});
  Input in(data, size);
  check_round_trip(in);
  return 0;
}
