// nghttp2's allocations for one session, through nghttp2_mem. Its outbound frame buffer (a
// 16 KiB chunk, made with the session and kept for its whole life) is placed on whole pages of
// its own, so that an idle connection gives those pages back to the system (release()): they
// come back, zeroed, when the next frame is written. Everything else is plain malloc.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <vector>

namespace proxy::h2 {

class SessionMemory {
 public:
  SessionMemory();
  SessionMemory(const SessionMemory&) = delete;
  SessionMemory& operator=(const SessionMemory&) = delete;

  // For nghttp2_session_server_new3: must outlive the session.
  nghttp2_mem* mem() { return &mem_; }

  // Gives the frame buffer's pages back. Only while nghttp2 holds no frame in it: after
  // nghttp2_session_mem_send returned 0 (nothing left to send), before it is called again.
  void release();

  // The frame buffers nghttp2 holds now (each kChunkBytes, on kChunkPages whole pages).
  size_t blocks() const { return blocks_.size(); }

  // nghttp2's frame buffer chunk: a frame header, a pad length byte and 16 KiB of payload.
  static constexpr size_t kChunkBytes = 9 + 1 + 16384;
  static constexpr size_t kPage = 4096;
  static constexpr size_t kChunkPages = (kChunkBytes + kPage - 1) / kPage * kPage;

 private:
  static void* on_malloc(size_t size, void* user);
  static void on_free(void* ptr, void* user);
  static void* on_calloc(size_t nmemb, size_t size, void* user);
  static void* on_realloc(void* ptr, size_t size, void* user);
  bool forget(void* ptr);

  nghttp2_mem mem_;
  std::vector<void*> blocks_;  // the frame buffer chunks, page-aligned
};

}  // namespace proxy::h2
