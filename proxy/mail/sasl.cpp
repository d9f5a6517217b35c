#include "proxy/mail/sasl.h"

#include <openssl/evp.h>

#include <algorithm>

namespace proxy::mail {

std::optional<std::string> base64_decode(std::string_view text) {
  if (text == "=") return std::string();
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  const bool ok = std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
  });
  if (!ok) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && text[text.size() - 1 - pad] == '=') ++pad;
  // "=" only at the end.
  if (text.substr(0, text.size() - pad).find('=') != std::string_view::npos) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  // EVP_DecodeBlock keeps the bytes the padding stands for: they are dropped below.
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0 || static_cast<size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - pad);
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

std::optional<Credentials> decode_plain(std::string_view base64) {
  auto raw = base64_decode(base64);
  if (!raw) return std::nullopt;
  std::string_view m = *raw;
  const size_t a = m.find('\0');
  if (a == std::string_view::npos) return std::nullopt;
  const size_t b = m.find('\0', a + 1);
  if (b == std::string_view::npos || m.find('\0', b + 1) != std::string_view::npos)
    return std::nullopt;
  Credentials c{.authzid = std::string(m.substr(0, a)),
                .user = std::string(m.substr(a + 1, b - a - 1)),
                .password = std::string(m.substr(b + 1))};
  if (c.user.empty()) return std::nullopt;
  return c;
}

std::string encode_plain(const Credentials& c) {
  std::string m = c.authzid;
  m.push_back('\0');
  m += c.user;
  m.push_back('\0');
  m += c.password;
  return base64_encode(m);
}

}  // namespace proxy::mail
