#include "proxy/mail/line_buffer.h"

#include <cstring>

namespace proxy::mail {

void LineBuffer::compact() {
  if (begin_ == 0) return;
  std::memmove(data_.data(), data_.data() + begin_, size_ - begin_);
  size_ -= begin_;
  begin_ = 0;
}

char* LineBuffer::prepare(size_t n) {
  compact();
  if (data_.size() < size_ + n) data_.resize(size_ + n);
  return data_.data() + size_;
}

std::optional<std::string_view> LineBuffer::next_line() {
  std::string_view here = rest();
  const size_t lf = here.find('\n');
  if (lf == std::string_view::npos || lf > max_line_ + 1) return std::nullopt;
  std::string_view line = here.substr(0, lf);
  begin_ += lf + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool LineBuffer::overflow() const {
  std::string_view here = rest();
  const size_t lf = here.find('\n');
  // The limit counts the line without its CRLF.
  return lf == std::string_view::npos ? here.size() > max_line_ + 1 : lf > max_line_ + 1;
}

std::optional<std::string> LineBuffer::take(size_t n) {
  if (size_ - begin_ < n) return std::nullopt;
  std::string out(data_.data() + begin_, n);
  begin_ += n;
  return out;
}

}  // namespace proxy::mail
