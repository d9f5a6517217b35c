#include "proxy/admin/status_sessions.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "proxy/admin/token.h"

namespace proxy::admin {
namespace {

std::string hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

std::string random_hex(size_t bytes) {
  unsigned char buf[64];
  if (bytes > sizeof buf || RAND_bytes(buf, static_cast<int>(bytes)) != 1)
    throw std::runtime_error("status page: no random bytes from OpenSSL");
  return hex(buf, bytes);
}

}  // namespace

StatusSessions::StatusSessions() : process_key_(random_hex(32)) {}

std::string StatusSessions::open(routing::Clock::time_point now) {
  while (sessions_.size() >= kMaxSessions) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
      if (it->second.opened < oldest->second.opened) oldest = it;
    sessions_.erase(oldest);
  }
  std::string id = random_hex(32);
  sessions_[id] = Session{now, random_hex(32)};
  return id;
}

bool StatusSessions::valid(std::string_view id, routing::Clock::time_point now) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  if (now - it->second.opened >= kLifetime) {
    sessions_.erase(it);
    return false;
  }
  return true;
}

void StatusSessions::close(std::string_view id) {
  auto it = sessions_.find(id);
  if (it != sessions_.end()) sessions_.erase(it);
}

void StatusSessions::clear() {
  sessions_.clear();
}

std::string StatusSessions::form_token(std::string_view id, std::string_view scope) const {
  const std::string* key = &process_key_;
  if (!id.empty()) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return {};
    key = &it->second.key;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
            reinterpret_cast<const unsigned char*>(scope.data()), scope.size(), mac, &len))
    return {};
  return hex(mac, len < 16 ? len : 16);  // 128 bits
}

bool StatusSessions::form_token_ok(std::string_view id, std::string_view scope,
                                   std::string_view presented) const {
  const std::string expected = form_token(id, scope);
  return !expected.empty() && token_equal(presented, expected);
}

}  // namespace proxy::admin
