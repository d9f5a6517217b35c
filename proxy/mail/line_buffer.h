// The bytes a mail front has read from one side and not yet used: complete lines (CRLF, or a
// bare LF as many servers accept) are taken one by one, or a counted run of bytes (an IMAP
// literal). A line longer than the limit is an error the caller answers and closes on.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace proxy::mail {

class LineBuffer {
 public:
  explicit LineBuffer(size_t max_line) : max_line_(max_line) {}

  // Room for the next read: a view of at least `n` free bytes at the end; commit() what came.
  char* prepare(size_t n);
  void commit(size_t n) { size_ += n; }

  // The next complete line without its line ending, valid until the next call; nullopt when
  // none is complete yet.
  std::optional<std::string_view> next_line();
  // The bytes of an incomplete line exceed the limit.
  bool overflow() const;
  // Takes exactly `n` bytes when that many are here.
  std::optional<std::string> take(size_t n);
  // What is left, unconsumed (bytes read ahead: pipelined commands).
  std::string_view rest() const { return std::string_view(data_).substr(begin_, size_ - begin_); }
  bool empty() const { return begin_ == size_; }
  void clear() { begin_ = size_ = 0; }
  // The memory the buffer holds.
  size_t held() const { return data_.capacity(); }
  // Empties the buffer and gives its memory back (the dialogue is over: the session relays).
  void release() {
    std::string().swap(data_);
    begin_ = size_ = 0;
  }

 private:
  void compact();

  std::string data_;
  size_t begin_ = 0;  // start of unconsumed bytes
  size_t size_ = 0;   // end of bytes read
  size_t max_line_;
};

}  // namespace proxy::mail
