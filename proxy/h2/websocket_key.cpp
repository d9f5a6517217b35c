#include "proxy/h2/websocket_key.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace proxy::h2 {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');  // EVP_EncodeBlock ends it with a NUL
  const int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(len > 0 ? static_cast<size_t>(len) : 0);
  return out;
}

}  // namespace

std::string new_websocket_key() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) return {};
  return base64(raw, sizeof raw);
}

std::string websocket_accept(std::string_view key) {
  std::string text(key);
  text.append(kGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha1(), nullptr) != 1) return {};
  return base64(digest, n);
}

}  // namespace proxy::h2
