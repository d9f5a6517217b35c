// Objects reused from request to request on one worker instead of being allocated each time.
// A parsed head holds 100 field slots (3.3 KB): kept in a coroutine frame it would make the
// frame too large for Asio's frame cache, so every request would allocate and free it.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace proxy::http {

template <class T, size_t kMaxFree = 64>
class Recycler {
 public:
  struct Return {
    Recycler* owner;
    void operator()(T* p) const { owner->release(p); }
  };
  using Ptr = std::unique_ptr<T, Return>;

  // An object as a previous user left it: the user resets what it reads (a parser does).
  Ptr acquire() {
    if (free_.empty()) return Ptr(new T, Return{this});
    T* p = free_.back().release();
    free_.pop_back();
    return Ptr(p, Return{this});
  }
  size_t free_count() const { return free_.size(); }

 private:
  void release(T* p) {
    if (free_.size() < kMaxFree)
      free_.emplace_back(p);
    else
      delete p;
  }

  std::vector<std::unique_ptr<T>> free_;
};

}  // namespace proxy::http
