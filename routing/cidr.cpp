#include "routing/cidr.h"

#include <array>
#include <charconv>
#include <string>

namespace routing {
namespace {

namespace ip = boost::asio::ip;

template <size_t N>
bool masked_equal(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                  unsigned prefix) {
  for (size_t i = 0; i < N && prefix > 0; ++i) {
    unsigned bits = prefix >= 8 ? 8 : prefix;
    auto mask = static_cast<unsigned char>(0xFF << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) return false;
    prefix -= bits;
  }
  return true;
}

template <size_t N>
bool host_bits_clear(const std::array<unsigned char, N>& a, unsigned prefix) {
  for (size_t i = 0; i < N; ++i) {
    unsigned from = static_cast<unsigned>(i * 8);
    if (from + 8 <= prefix) continue;
    unsigned keep = prefix > from ? prefix - from : 0;
    auto mask = static_cast<unsigned char>(0xFF >> keep);
    if (a[i] & mask) return false;
  }
  return true;
}

}  // namespace

bool Cidr::contains(const ip::address& a) const {
  ip::address x = a;
  if (x.is_v6() && x.to_v6().is_v4_mapped() && network.is_v4())
    x = ip::make_address_v4(ip::v4_mapped, x.to_v6());
  if (x.is_v4() != network.is_v4()) return false;
  if (x.is_v4()) return masked_equal(x.to_v4().to_bytes(), network.to_v4().to_bytes(), prefix);
  return masked_equal(x.to_v6().to_bytes(), network.to_v6().to_bytes(), prefix);
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  size_t slash = text.find('/');
  std::string addr(text.substr(0, slash));
  boost::system::error_code ec;
  ip::address network = ip::make_address(addr, ec);
  if (ec) return std::nullopt;
  if (network.is_v6() && network.to_v6().scope_id() != 0) return std::nullopt;
  unsigned max = network.is_v4() ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    auto [end, perr] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || perr != std::errc{} || end != p.data() + p.size() || prefix > max)
      return std::nullopt;
  }
  bool clear = network.is_v4() ? host_bits_clear(network.to_v4().to_bytes(), prefix)
                               : host_bits_clear(network.to_v6().to_bytes(), prefix);
  if (!clear) return std::nullopt;
  return Cidr{network, static_cast<uint8_t>(prefix)};
}

}  // namespace routing
