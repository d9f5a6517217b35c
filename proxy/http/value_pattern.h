// The regular expression of a `replace` header rule (Perl syntax, as HAProxy's PCRE). Compiled
// once at config load; searched by every worker at once (matching is const).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace proxy::http {

class ValuePattern {
 public:
  // Compiles `text`; on a fault returns null with `error` set and `offset` at the byte where
  // the fault was found.
  static std::shared_ptr<const ValuePattern> compile(std::string_view text, std::string& error,
                                                     size_t& offset);
  ~ValuePattern();

  // Searches `value`; on a match fills `captures` (the whole match first, then each group;
  // an unmatched group is empty) and returns true. A search too costly for the matcher's
  // bounds counts as no match.
  bool search(std::string_view value, std::vector<std::string_view>& captures) const;

  unsigned groups() const;  // capture groups in the pattern
  const std::string& text() const { return text_; }

  struct Impl;
  explicit ValuePattern(std::unique_ptr<Impl> impl, std::string text);

 private:
  std::unique_ptr<Impl> impl_;
  std::string text_;
};

}  // namespace proxy::http
