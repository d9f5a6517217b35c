#include "proxy/config/token_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace proxy::config {
namespace {

constexpr size_t kMinToken = 16;
constexpr size_t kMaxToken = 1024;
constexpr size_t kMaxFile = 4096;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

}  // namespace

std::optional<std::string> read_token_file(const std::string& path, std::string& error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = std::string("cannot read: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = std::string("cannot read: ") + std::strerror(errno);
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFile) {
      ::close(fd);
      error = "larger than 4KiB: not a token file";
      return std::nullopt;
    }
  }
  ::close(fd);
  size_t begin = 0, end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;
  std::string token = text.substr(begin, end - begin);
  if (token.empty()) {
    error = "is empty (it must hold the token, e.g. from `openssl rand -hex 32`)";
    return std::nullopt;
  }
  for (char c : token) {
    if (c <= 0x20 || c >= 0x7f) {
      error = "must hold one token of visible ASCII characters, on one line";
      return std::nullopt;
    }
  }
  if (token.size() < kMinToken || token.size() > kMaxToken) {
    error = "the token must be 16 to 1024 characters long (it has " + std::to_string(token.size()) +
            ")";
    return std::nullopt;
  }
  return token;
}

}  // namespace proxy::config
