#include "proxy/http/affinity_cookie.h"

#include <openssl/evp.h>

#include "routing/affinity.h"
#include "routing/node_state.h"

namespace proxy::http {
namespace {

constexpr size_t kMaxValue = 64;

bool is_token_char(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  static constexpr std::string_view kSeparators = "()<>@,;:\\\"/[]?={}";
  return kSeparators.find(static_cast<char>(c)) == std::string_view::npos;
}

bool is_cookie_octet(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
         (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(name, value) for each "name=value" pair of a Cookie field value; stops when f
// returns false.
template <class F>
void each_pair(std::string_view field, F&& f) {
  while (!field.empty()) {
    const size_t semi = field.find(';');
    std::string_view pair = trim(field.substr(0, semi));
    field = semi == std::string_view::npos ? std::string_view() : field.substr(semi + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string_view name = trim(pair.substr(0, eq));
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : trim(pair.substr(eq + 1));
    if (!f(name, value, pair)) return;
  }
}

// Whether a comma-separated directive list holds `word` (case-insensitive, arguments ignored).
bool contains_word(std::string_view list, std::string_view word) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    item = trim(item.substr(0, item.find('=')));
    if (iequals(item, word)) return true;
  }
  return false;
}

}  // namespace

std::string affinity_cookie_value(std::string_view pool, std::string_view node) {
  std::string input = "passeur-affinity";
  input.push_back('\0');
  input.append(pool);
  input.push_back('\0');
  input.append(node);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < 8 && i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

bool valid_cookie_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (!is_token_char(c)) return false;
  return true;
}

bool valid_cookie_value(std::string_view value) {
  if (value.empty() || value.size() > kMaxValue) return false;
  for (unsigned char c : value)
    if (!is_cookie_octet(c)) return false;
  return true;
}

std::optional<std::string_view> find_cookie(std::string_view field, std::string_view name) {
  std::optional<std::string_view> out;
  each_pair(field, [&](std::string_view n, std::string_view v, std::string_view) {
    if (n != name) return true;
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    out = v;
    return false;
  });
  return out;
}

std::string without_cookie(std::string_view field, std::string_view name) {
  std::string out;
  each_pair(field, [&](std::string_view n, std::string_view, std::string_view pair) {
    if (n == name) return true;
    if (!out.empty()) out.append("; ");
    out.append(pair);
    return true;
  });
  return out;
}

void append_set_cookie(std::string& out, std::string_view name, std::string_view value,
                       bool secure) {
  out.append("Set-Cookie: ").append(name).append("=").append(value);
  out.append("; Path=/; HttpOnly; SameSite=Lax");
  if (secure) out.append("; Secure");
  out.append("\r\n");
}

void append_affinity_headers(std::string& out, const ResponseHead& res, std::string_view name,
                             const routing::Node& node, bool secure) {
  append_set_cookie(out, name, node.settings().cookie, secure);
  for (uint16_t i = 0; i < res.nfields; ++i) {
    const HeaderField& f = res.fields[i];
    if (f.name.size() != 13 || !iequals(f.name, "cache-control")) continue;
    if (contains_word(f.value, "private") || contains_word(f.value, "no-cache") ||
        contains_word(f.value, "no-store"))
      return;
  }
  out.append("Cache-Control: private\r\n");
}

CookieChoice choose_by_cookie(const RequestHead& req, const routing::Pool& pool,
                              routing::Clock::time_point now) {
  CookieChoice c;
  const std::string_view name = pool.settings().affinity_cookie;
  for (uint16_t i = 0; i < req.nfields; ++i) {
    const HeaderField& f = req.fields[i];
    if (f.name.size() != 6 || !iequals(f.name, "cookie")) continue;
    if (auto v = find_cookie(f.value, name)) {
      c.sent = *v;
      break;
    }
  }
  routing::Node* n = pool.node_by_cookie(c.sent);
  if (n && routing::takes_affine(*n) &&
      !routing::drain_expired(*n, pool.settings().health.drain_timeout, now))
    c.node = n;
  return c;
}

}  // namespace proxy::http
