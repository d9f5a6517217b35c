#include "proxy/tcp/proxy_header.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace proxy::tcp_relay {
namespace {

namespace ip = boost::asio::ip;
using ip::tcp;

tcp::endpoint ep(const char* addr, uint16_t port) {
  return tcp::endpoint(ip::make_address(addr), port);
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

ParsedHeader parse(const std::string& s) {
  return parse_proxy_header(bytes(s));
}

TEST(ProxyHeader, EncodesV1Tcp4) {
  EXPECT_EQ(encode_proxy_header(ProxyVersion::V1, ep("192.0.2.7", 51234), ep("10.0.0.1", 993)),
            "PROXY TCP4 192.0.2.7 10.0.0.1 51234 993\r\n");
}

TEST(ProxyHeader, EncodesV1Tcp6AndMapsAnIpv4Side) {
  EXPECT_EQ(encode_proxy_header(ProxyVersion::V1, ep("2001:db8::1", 1), ep("::1", 143)),
            "PROXY TCP6 2001:db8::1 ::1 1 143\r\n");
  EXPECT_EQ(encode_proxy_header(ProxyVersion::V1, ep("192.0.2.7", 2), ep("::1", 143)),
            "PROXY TCP6 ::ffff:192.0.2.7 ::1 2 143\r\n");
}

TEST(ProxyHeader, LongestV1FitsTheSpecLimit) {
  std::string h =
      encode_proxy_header(ProxyVersion::V1, ep("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535),
                          ep("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535));
  EXPECT_EQ(h.size(), 104u);
  EXPECT_LE(h.size(), kMaxV1Header);
}

TEST(ProxyHeader, EncodesV2Tcp4ByteForByte) {
  std::string h =
      encode_proxy_header(ProxyVersion::V2, ep("192.0.2.7", 0x1234), ep("10.0.0.1", 993));
  const std::vector<uint8_t> want = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49,
                                     0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C, 192,  0,    2,    7,
                                     10,   0,    0,    1,    0x12, 0x34, 0x03, 0xE1};
  EXPECT_EQ(std::vector<uint8_t>(h.begin(), h.end()), want);
}

TEST(ProxyHeader, EncodesV2Tcp6) {
  std::string h = encode_proxy_header(ProxyVersion::V2, ep("2001:db8::1", 1), ep("::1", 2));
  ASSERT_EQ(h.size(), 52u);
  EXPECT_EQ(static_cast<uint8_t>(h[13]), 0x21);
  EXPECT_EQ(static_cast<uint8_t>(h[15]), 36);
  EXPECT_EQ(static_cast<uint8_t>(h[16]), 0x20);
  EXPECT_EQ(static_cast<uint8_t>(h[17]), 0x01);
  EXPECT_EQ(static_cast<uint8_t>(h[47]), 0x01);  // ::1
  EXPECT_EQ(static_cast<uint8_t>(h[49]), 1);
  EXPECT_EQ(static_cast<uint8_t>(h[51]), 2);
}

TEST(ProxyHeader, V2CarriesTheClientsTlsAsHaproxysSslTlvs) {
  const ClientTls tls{.used = true,
                      .version = "TLSv1.3",
                      .cipher = "TLS_AES_128_GCM_SHA256",
                      .server_name = "imap.example.org"};
  std::string h =
      encode_proxy_header(ProxyVersion::V2, ep("192.0.2.7", 0x1234), ep("10.0.0.1", 993), tls);
  std::string tlvs = h.substr(16 + 12);
  // PP2_TYPE_SSL: client = PP2_CLIENT_SSL, verify = 1 (no client certificate), then the
  // version (0x21) and cipher (0x23) sub-TLVs.
  std::string ssl_value = std::string("\x01\x00\x00\x00\x01", 5) + "\x21" +
                          std::string("\x00\x07", 2) + "TLSv1.3" + "\x23" +
                          std::string("\x00\x16", 2) + "TLS_AES_128_GCM_SHA256";
  std::string want = "\x20" + std::string(1, '\0') + std::string(1, char(ssl_value.size())) +
                     ssl_value + "\x02" + std::string(1, '\0') + "\x10" + "imap.example.org";
  EXPECT_EQ(tlvs, want);
  EXPECT_EQ((size_t{static_cast<uint8_t>(h[14])} << 8) | static_cast<uint8_t>(h[15]),
            12 + want.size());
  // What a node parses: the addresses, and a header as long as what was written.
  ParsedHeader p = parse(h);
  ASSERT_EQ(p.status, ParseStatus::Complete);
  EXPECT_EQ(p.length, h.size());
  EXPECT_EQ(p.source, ep("192.0.2.7", 0x1234));
}

TEST(ProxyHeader, PlaintextClientsAndV1CarryNoTls) {
  const ClientTls plain{.used = false, .version = "TLSv1.3", .cipher = "x", .server_name = "y"};
  EXPECT_EQ(
      encode_proxy_header(ProxyVersion::V2, ep("192.0.2.7", 1), ep("10.0.0.1", 2), plain).size(),
      28u);
  const ClientTls tls{.used = true, .version = "TLSv1.3", .cipher = "x", .server_name = "y"};
  EXPECT_EQ(encode_proxy_header(ProxyVersion::V1, ep("192.0.2.7", 1), ep("10.0.0.1", 2), tls),
            "PROXY TCP4 192.0.2.7 10.0.0.1 1 2\r\n");
}

TEST(ProxyHeader, WithoutSniTheAuthorityIsLeftOutAndTheLongestFits) {
  const ClientTls no_sni{
      .used = true, .version = "TLSv1.2", .cipher = "ECDHE-RSA-AES128-GCM-SHA256"};
  std::string h = encode_proxy_header(ProxyVersion::V2, ep("2001:db8::1", 1), ep("::1", 2), no_sni);
  EXPECT_EQ(h.size(), 52u + 3 + 5 + 3 + 7 + 3 + 27);
  EXPECT_TRUE(h.ends_with("ECDHE-RSA-AES128-GCM-SHA256"));  // the SSL TLV is last
  // ClientTls holds views: the strings they look at live as long as it does.
  const std::string version(kMaxTlsVersionValue, 'v');
  const std::string cipher(kMaxTlsCipherValue, 'c');
  const std::string name(kMaxAuthorityValue, 'a');
  const ClientTls big{.used = true, .version = version, .cipher = cipher, .server_name = name};
  EXPECT_EQ(encode_proxy_header(ProxyVersion::V2, ep("2001:db8::1", 1), ep("::1", 2), big).size(),
            kMaxEncoded);
  const std::string too_long(kMaxAuthorityValue + 1, 'b');
  const ClientTls over{.used = true, .version = "TLSv1.3", .cipher = "c", .server_name = too_long};
  EXPECT_EQ(
      encode_proxy_header(ProxyVersion::V2, ep("2001:db8::1", 1), ep("::1", 2), over).find('b'),
      std::string::npos);
}

// Values as long as a client or a TLS library can make them: the header written still parses
// back (a node with the same limit as Passeur's reader accepts it), without the values too long
// for it.
TEST(ProxyHeader, AV2HeaderWithVeryLongTlsValuesParsesBack) {
  const std::string version(kMaxTlsVersionValue + 1, 'v');
  const std::string cipher(4000, 'c');
  const std::string sni(kMaxAuthorityValue + 1, 's');
  const std::string longest_cipher(kMaxTlsCipherValue, 'c');
  const std::string longest_sni(kMaxAuthorityValue, 's');
  const std::string over_cipher(kMaxTlsCipherValue + 1, 'c');
  const std::string dns_sni(253, 's');
  for (const ClientTls& tls :
       {ClientTls{.used = true, .version = version, .cipher = cipher, .server_name = sni},
        ClientTls{.used = true,
        .version = "TLSv1.3",
        .cipher = longest_cipher,
        .server_name = longest_sni},
        ClientTls{
            .used = true, .version = "TLSv1.3", .cipher = over_cipher, .server_name = dns_sni}}) {
    const std::string h =
        encode_proxy_header(ProxyVersion::V2, ep("2001:db8::1", 1), ep("::1", 2), tls);
    EXPECT_LE(h.size(), kMaxV2Header);
    const ParsedHeader p = parse(h + "payload");
    ASSERT_EQ(p.status, ParseStatus::Complete) << p.error;
    EXPECT_EQ(p.length, h.size());
    EXPECT_EQ(p.source, ep("2001:db8::1", 1));
    EXPECT_EQ(p.destination, ep("::1", 2));
    EXPECT_EQ(h.find(std::string(kMaxTlsCipherValue + 1, 'c')), std::string::npos);
  }
  const ClientTls longest{.used = true, .version = version, .cipher = cipher, .server_name = sni};
  // Only the SSL TLV's fixed part is left: each value was too long.
  EXPECT_EQ(
      encode_proxy_header(ProxyVersion::V2, ep("2001:db8::1", 1), ep("::1", 2), longest).size(),
      52u + 3 + 5);
}

TEST(ProxyHeader, OffEncodesNothing) {
  EXPECT_EQ(encode_proxy_header(ProxyVersion::Off, ep("192.0.2.7", 1), ep("10.0.0.1", 2)), "");
}

TEST(ProxyHeader, RoundTripsBothVersionsAndFamilies) {
  for (auto v : {ProxyVersion::V1, ProxyVersion::V2}) {
    for (auto [s, d] : {std::pair{ep("192.0.2.7", 51234), ep("10.0.0.1", 993)},
                        std::pair{ep("2001:db8::7", 40000), ep("2001:db8::1", 995)}}) {
      std::string h = encode_proxy_header(v, s, d);
      ParsedHeader p = parse(h + "payload");
      ASSERT_EQ(p.status, ParseStatus::Complete) << p.error;
      EXPECT_EQ(p.version, v);
      EXPECT_EQ(p.length, h.size());
      EXPECT_TRUE(p.has_addresses);
      EXPECT_EQ(p.source, s);
      EXPECT_EQ(p.destination, d);
    }
  }
}

TEST(ProxyHeader, EveryPrefixOfAValidHeaderNeedsMore) {
  for (auto v : {ProxyVersion::V1, ProxyVersion::V2}) {
    std::string h = encode_proxy_header(v, ep("2001:db8::7", 1), ep("2001:db8::1", 2));
    for (size_t n = 0; n < h.size(); ++n)
      EXPECT_EQ(parse(h.substr(0, n)).status, ParseStatus::NeedMore) << int(v) << " " << n;
  }
}

TEST(ProxyHeader, V1UnknownKeepsTheConnectionAddresses) {
  ParsedHeader p = parse("PROXY UNKNOWN\r\n");
  ASSERT_EQ(p.status, ParseStatus::Complete);
  EXPECT_FALSE(p.has_addresses);
  EXPECT_EQ(p.length, 15u);
  p = parse("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nX");
  ASSERT_EQ(p.status, ParseStatus::Complete);
  EXPECT_EQ(p.length, 35u);
}

TEST(ProxyHeader, V1Errors) {
  const char* bad[] = {
      "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
      "PROXY TCP4 ::1 ::1 1 2\r\n",
      "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
      "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
      "PROXY \r\n",
      "PROXY TCP4 1.2.3.4\n5.6.7.8 1 2\r\n",
  };
  for (const char* s : bad) {
    ParsedHeader p = parse(s);
    EXPECT_EQ(p.status, ParseStatus::Invalid) << s;
    EXPECT_FALSE(p.error.empty()) << s;
  }
}

TEST(ProxyHeader, V1LongerThanTheSpecLimitIsRefused) {
  std::string s = "PROXY TCP6 " + std::string(120, 'f');
  ParsedHeader p = parse(s);
  EXPECT_EQ(p.status, ParseStatus::Invalid);
  EXPECT_EQ(p.error, "PROXY v1 line longer than 107 bytes");
}

TEST(ProxyHeader, NotAProxyHeader) {
  for (const char* s : {"GET / HTTP/1.1\r\n", "\x16\x03\x01", "A1 LOGIN", "PROXZ"}) {
    ParsedHeader p = parse(s);
    EXPECT_EQ(p.status, ParseStatus::Invalid) << s;
    EXPECT_EQ(p.error, "no PROXY protocol header");
  }
}

std::string v2(uint8_t ver_cmd, uint8_t fam, std::vector<uint8_t> body) {
  std::string h = "\r\n\r\n";
  h += '\0';
  h += "\r\nQUIT\n";
  h += static_cast<char>(ver_cmd);
  h += static_cast<char>(fam);
  h += static_cast<char>(body.size() >> 8);
  h += static_cast<char>(body.size() & 0xFF);
  h.append(body.begin(), body.end());
  return h;
}

TEST(ProxyHeader, V2LocalAndUnspecKeepTheConnectionAddresses) {
  ParsedHeader p = parse(v2(0x20, 0x00, {}));
  ASSERT_EQ(p.status, ParseStatus::Complete);
  EXPECT_FALSE(p.has_addresses);
  EXPECT_EQ(p.length, 16u);
  p = parse(v2(0x21, 0x00, {1, 2, 3}));  // UNSPEC with bytes to skip
  ASSERT_EQ(p.status, ParseStatus::Complete);
  EXPECT_FALSE(p.has_addresses);
  EXPECT_EQ(p.length, 19u);
}

TEST(ProxyHeader, V2SkipsTlvs) {
  std::vector<uint8_t> body = {127, 0, 0, 9, 127, 0, 0, 1, 0, 80, 1, 187};
  for (int b : {0x04, 0x00, 0x02, int('a'), int('b')})
    body.push_back(static_cast<uint8_t>(b));  // a NOOP TLV
  ParsedHeader p = parse(v2(0x21, 0x11, body) + "rest");
  ASSERT_EQ(p.status, ParseStatus::Complete);
  EXPECT_EQ(p.length, 16u + 17u);
  EXPECT_EQ(p.source, ep("127.0.0.9", 80));
  EXPECT_EQ(p.destination, ep("127.0.0.1", 443));
}

TEST(ProxyHeader, V2Errors) {
  EXPECT_EQ(parse(v2(0x11, 0x11, std::vector<uint8_t>(12))).status, ParseStatus::Invalid);
  EXPECT_EQ(parse(v2(0x22, 0x11, std::vector<uint8_t>(12))).status, ParseStatus::Invalid);
  ParsedHeader p = parse(v2(0x21, 0x11, std::vector<uint8_t>(8)));
  EXPECT_EQ(p.status, ParseStatus::Invalid);
  EXPECT_EQ(p.error, "PROXY v2 address block shorter than its family needs");
  p = parse(v2(0x21, 0x21, std::vector<uint8_t>(20)));
  EXPECT_EQ(p.status, ParseStatus::Invalid);
  // Too long is refused from the fixed part alone, before the bytes arrive.
  std::string big = v2(0x21, 0x11, std::vector<uint8_t>(600));
  p = parse(big.substr(0, 16));
  EXPECT_EQ(p.status, ParseStatus::Invalid);
  EXPECT_EQ(p.error, "PROXY v2 header longer than 528 bytes");
}

}  // namespace
}  // namespace proxy::tcp_relay
