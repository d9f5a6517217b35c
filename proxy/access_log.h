// The access log: workers format lines into a buffer of their own and hand full buffers to one
// writer thread, so a slow disk or a blocked stdout never stalls a request.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace proxy {

class AccessLog {
 public:
  // target: "stdout", "off" or a file path (opened for append). Throws on an unopenable file.
  explicit AccessLog(const std::string& target);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  bool enabled() const { return fd_ >= 0; }
  // Takes a batch of complete lines. Called by workers a few times a second, not per request.
  void submit(std::string&& lines);
  // Lines dropped because the writer fell too far behind (bounded memory).
  uint64_t dropped() const { return dropped_; }

 private:
  void run();

  int fd_ = -1;
  bool own_fd_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  uint64_t dropped_ = 0;
  bool stop_ = false;
  std::thread writer_;
};

// Per-worker batch of log lines, flushed to the AccessLog when large or on the worker's tick.
class LogBuffer {
 public:
  static constexpr size_t kFlushBytes = 32 * 1024;
  explicit LogBuffer(AccessLog* log) : log_(log) {}
  bool enabled() const { return log_ && log_->enabled(); }
  std::string& line_buffer() { return buf_; }
  void line_done() {
    if (buf_.size() >= kFlushBytes) flush();
  }
  void flush() {
    if (!buf_.empty() && log_) log_->submit(std::move(buf_));
    buf_.clear();
  }

 private:
  AccessLog* log_;
  std::string buf_;
};

}  // namespace proxy
