#include "proxy/admin/token.h"

namespace proxy::admin {

bool token_equal(std::string_view presented, std::string_view expected) {
  // Every byte of `expected` is compared, whatever `presented` holds; the loop never exits
  // early and reads `presented` only within its bounds.
  unsigned diff = presented.size() == expected.size() ? 0u : 1u;
  const size_t n = presented.size();
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = n ? static_cast<unsigned char>(presented[i < n ? i : 0]) : 0;
    diff |= p ^ static_cast<unsigned char>(expected[i]);
  }
  // volatile: keep the compiler from turning the loop into an early-exit compare.
  volatile unsigned result = diff;
  return result == 0 && !expected.empty();
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return {};
  }
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ') return {};
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  return rest;
}

}  // namespace proxy::admin
