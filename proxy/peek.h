#pragma once

// What a connected socket holds, seen without reading it: one recv(2) with MSG_PEEK.

#include <sys/socket.h>

#include <cerrno>

namespace proxy {

enum class Peek : unsigned char {
  Data,     // bytes wait to be read
  Closed,   // the peer closed it: a FIN, a reset, or another error
  Nothing,  // open, nothing to read yet
};

inline Peek peek(int fd) {
  char c;
  const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return Peek::Data;
  if (n == 0) return Peek::Closed;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? Peek::Nothing : Peek::Closed;
}

}  // namespace proxy
