#include "proxy/h2/session_memory.h"

#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace proxy::h2 {

SessionMemory::SessionMemory()
    : mem_{.mem_user_data = this,
           .malloc = on_malloc,
           .free = on_free,
           .calloc = on_calloc,
           .realloc = on_realloc} {}

void SessionMemory::release() {
  for (void* b : blocks_) ::madvise(b, kChunkPages, MADV_DONTNEED);
}

bool SessionMemory::forget(void* ptr) {
  auto it = std::find(blocks_.begin(), blocks_.end(), ptr);
  if (it == blocks_.end()) return false;
  blocks_.erase(it);
  return true;
}

void* SessionMemory::on_malloc(size_t size, void*) {
  return std::malloc(size);
}

void SessionMemory::on_free(void* ptr, void* user) {
  if (!ptr) return;
  auto& m = *static_cast<SessionMemory*>(user);
  if (!m.blocks_.empty()) m.forget(ptr);
  std::free(ptr);
}

void* SessionMemory::on_calloc(size_t nmemb, size_t size, void*) {
  return std::calloc(nmemb, size);
}

// nghttp2 makes each frame buffer chunk with realloc from nothing (nghttp2_buf_reserve), and
// nothing else of exactly that size: those go on pages of their own.
void* SessionMemory::on_realloc(void* ptr, size_t size, void* user) {
  auto& m = *static_cast<SessionMemory*>(user);
  if (size != kChunkBytes) {
    if (ptr && !m.blocks_.empty()) m.forget(ptr);
    return std::realloc(ptr, size);
  }
  void* block = std::aligned_alloc(kPage, kChunkPages);
  if (!block) return nullptr;
  if (ptr) {
    std::memcpy(block, ptr, std::min(::malloc_usable_size(ptr), kChunkPages));
    on_free(ptr, user);
  }
  m.blocks_.push_back(block);
  return block;
}

}  // namespace proxy::h2
