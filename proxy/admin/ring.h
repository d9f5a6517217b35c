// A fixed ring of the last N values: pushing onto a full ring drops the oldest. No allocation
// after construction; for the status page's per-node history.
#pragma once

#include <array>
#include <cstddef>

namespace proxy::admin {

template <class T, size_t N>
class Ring {
 public:
  static constexpr size_t kCapacity = N;

  void push(const T& v) {
    values_[(start_ + size_) % N] = v;
    if (size_ < N) {
      ++size_;
    } else {
      start_ = (start_ + 1) % N;
    }
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // 0 is the oldest value kept, size() - 1 the newest.
  const T& operator[](size_t i) const { return values_[(start_ + i) % N]; }
  const T& back() const { return (*this)[size_ - 1]; }
  void clear() { start_ = size_ = 0; }

 private:
  std::array<T, N> values_{};
  size_t start_ = 0;
  size_t size_ = 0;
};

}  // namespace proxy::admin
