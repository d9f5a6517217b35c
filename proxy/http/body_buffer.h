// Fixed-size buffers for relaying bodies, recycled per worker so a busy worker does not call
// the allocator for every response. A connection holds one only while a body is in transit:
// an idle keep-alive connection holds none.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace proxy::http {

class BufferPool {
 public:
  static constexpr size_t kSize = 16 * 1024;
  static constexpr size_t kMaxFree = 256;

  std::unique_ptr<char[]> acquire() {
    if (free_.empty()) return std::make_unique_for_overwrite<char[]>(kSize);
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void release(std::unique_ptr<char[]> b) {
    if (b && free_.size() < kMaxFree) free_.push_back(std::move(b));
  }

 private:
  std::vector<std::unique_ptr<char[]>> free_;
};

// Holds a buffer from a pool and gives it back on destruction.
class BodyBuffer {
 public:
  explicit BodyBuffer(BufferPool& pool) : pool_(pool), buf_(pool.acquire()) {}
  ~BodyBuffer() { pool_.release(std::move(buf_)); }
  BodyBuffer(const BodyBuffer&) = delete;
  BodyBuffer& operator=(const BodyBuffer&) = delete;
  char* data() { return buf_.get(); }
  static constexpr size_t size() { return BufferPool::kSize; }

 private:
  BufferPool& pool_;
  std::unique_ptr<char[]> buf_;
};

}  // namespace proxy::http
