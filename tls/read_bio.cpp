#include "tls/read_bio.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>

#include "tls/records/bio_ctrl.h"

namespace tls {
namespace {

// A ClientHello, or a client's second flight with its first request, fits in one read.
constexpr size_t kBufferSize = 4096;

constexpr unsigned char kChangeCipherSpec = 20;

// The records of the bytes passed on to OpenSSL, for the record layer that takes over: how
// many came after the peer's last ChangeCipherSpec.
struct RecordCount {
  std::array<unsigned char, 5> header{};
  size_t header_size = 0;
  size_t body_left = 0;
  bool after_change_cipher_spec = false;
  long records = 0;

  void observe(const unsigned char* p, size_t n) {
    while (n > 0) {
      if (body_left > 0) {
        const size_t k = std::min(n, body_left);
        body_left -= k;
        p += k;
        n -= k;
        continue;
      }
      header[header_size++] = *p++;
      --n;
      if (header_size < header.size()) continue;
      header_size = 0;
      body_left = static_cast<size_t>(header[3]) << 8 | header[4];
      if (header[0] == kChangeCipherSpec) {
        after_change_cipher_spec = true;
        records = 0;
      } else if (after_change_cipher_spec) {
        ++records;
      }
    }
  }
};

struct ReadBio {
  int fd = -1;
  bool eof = false;
  std::unique_ptr<unsigned char[]> buffer;  // only while it holds bytes
  size_t pos = 0;
  size_t len = 0;
  RecordCount count;
};

ReadBio* state(BIO* b) {
  return static_cast<ReadBio*>(BIO_get_data(b));
}

// recv(2) as OpenSSL's socket BIO does it: bytes, 0 at end of stream, -1 with errno (and the
// retry flag when the socket has nothing now).
int receive(BIO* b, ReadBio& r, void* out, size_t size) {
  for (;;) {
    const ssize_t n = ::recv(r.fd, out, size, 0);
    if (n > 0) return static_cast<int>(n);
    if (n == 0) {
      r.eof = true;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(b);
    return -1;
  }
}

int bio_read(BIO* b, char* out, int size) {
  BIO_clear_retry_flags(b);
  ReadBio* r = state(b);
  if (r == nullptr || out == nullptr || size <= 0) return 0;
  const auto want = static_cast<size_t>(size);
  if (r->pos == r->len) {
    if (want < kBufferSize && !r->buffer) {
      r->buffer.reset(new (std::nothrow) unsigned char[kBufferSize]);
    }
    // A large read goes straight to OpenSSL's buffer.
    if (want >= kBufferSize || !r->buffer) {
      const int n = receive(b, *r, out, want);
      if (n > 0) {
        r->count.observe(reinterpret_cast<const unsigned char*>(out), static_cast<size_t>(n));
      }
      return n;
    }
    const int n = receive(b, *r, r->buffer.get(), kBufferSize);
    if (n <= 0) {
      r->buffer.reset();
      return n;
    }
    r->pos = 0;
    r->len = static_cast<size_t>(n);
  }
  const size_t n = std::min(want, r->len - r->pos);
  std::memcpy(out, r->buffer.get() + r->pos, n);
  r->count.observe(r->buffer.get() + r->pos, n);
  r->pos += n;
  if (r->pos == r->len) {
    r->buffer.reset();
    r->pos = r->len = 0;
  }
  return static_cast<int>(n);
}

int bio_write(BIO*, const char*, int) {
  return -1;  // OpenSSL writes through the socket BIO; this one only reads
}

long bio_ctrl(BIO* b, int cmd, long, void* ptr) {
  const ReadBio* r = state(b);
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return r != nullptr && r->eof ? 1 : 0;
    case BIO_CTRL_PENDING:
      return r != nullptr ? static_cast<long>(r->len - r->pos) : 0;
    case kBioCtrlRecordsAfterChangeCipherSpec:
      return r != nullptr && r->count.after_change_cipher_spec ? r->count.records : 0;
    case BIO_C_GET_FD:  // SSL_get_rfd
      if (r == nullptr) return -1;
      if (ptr != nullptr) *static_cast<int*>(ptr) = r->fd;
      return r->fd;
    default:
      return 0;
  }
}

int bio_create(BIO* b) {
  auto* r = new (std::nothrow) ReadBio;
  if (r == nullptr) return 0;
  BIO_set_data(b, r);
  BIO_set_init(b, 1);
  return 1;
}

int bio_destroy(BIO* b) {
  delete state(b);
  BIO_set_data(b, nullptr);
  return 1;
}

struct Method {
  BIO_METHOD* method = nullptr;
  int type = 0;
};

Method make_method() {
  const int index = BIO_get_new_index();
  if (index == -1) return {};
  const int type = index | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR;
  BIO_METHOD* m = BIO_meth_new(type, "socket read");
  if (m == nullptr) return {};
  if (BIO_meth_set_read(m, bio_read) != 1 || BIO_meth_set_write(m, bio_write) != 1 ||
      BIO_meth_set_ctrl(m, bio_ctrl) != 1 || BIO_meth_set_create(m, bio_create) != 1 ||
      BIO_meth_set_destroy(m, bio_destroy) != 1) {
    BIO_meth_free(m);
    return {};
  }
  return {m, type};
}

const Method& method() {
  static const Method m = make_method();  // for the process's life
  return m;
}

}  // namespace

BIO* new_read_bio(int fd) {
  const BIO_METHOD* m = method().method;
  if (m == nullptr) return nullptr;
  BIO* b = BIO_new(m);
  if (b == nullptr) return nullptr;
  state(b)->fd = fd;
  return b;
}

std::span<const unsigned char> unread(BIO* bio) {
  if (bio == nullptr || method().method == nullptr || BIO_method_type(bio) != method().type)
    return {};
  const ReadBio* r = state(bio);
  if (r == nullptr || r->pos == r->len) return {};
  return {r->buffer.get() + r->pos, r->len - r->pos};
}

}  // namespace tls
