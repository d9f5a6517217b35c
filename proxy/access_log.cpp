#include "proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace proxy {
namespace {
constexpr size_t kMaxQueuedBytes = 64u << 20;  // beyond this, batches are dropped and counted
}

AccessLog::AccessLog(const std::string& target) {
  if (target == "off") return;
  if (target == "stdout") {
    fd_ = STDOUT_FILENO;
  } else {
    fd_ = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd_ < 0)
      throw std::runtime_error("cannot open access log " + target + ": " + std::strerror(errno));
    own_fd_ = true;
  }
  writer_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
  if (own_fd_) ::close(fd_);
}

void AccessLog::submit(std::string&& lines) {
  if (fd_ < 0 || lines.empty()) return;
  {
    std::lock_guard lk(mu_);
    if (queued_bytes_ + lines.size() > kMaxQueuedBytes) {
      ++dropped_;
      return;
    }
    queued_bytes_ += lines.size();
    queue_.push_back(std::move(lines));
  }
  cv_.notify_one();
}

void AccessLog::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) return;
    std::string batch = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= batch.size();
    lk.unlock();
    const char* p = batch.data();
    size_t left = batch.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // a full disk or a closed pipe: the batch is lost, the proxy goes on
      p += n;
      left -= static_cast<size_t>(n);
    }
    lk.lock();
  }
}

}  // namespace proxy
