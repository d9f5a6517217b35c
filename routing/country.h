// A country as a small index: ISO 3166-1 alpha-2 codes ("DE") map to 1..676, and 0 stands for
// "unknown" (an address the database does not know, or no database). Counters indexed by it
// fit a fixed array; comparing two is comparing integers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace routing {

inline constexpr size_t kCountrySlots = 26 * 26 + 1;

class Country {
 public:
  constexpr Country() = default;

  // Two ASCII letters, either case; anything else is nullopt.
  static constexpr std::optional<Country> from_code(std::string_view code) {
    if (code.size() != 2) return std::nullopt;
    int a = letter(code[0]);
    int b = letter(code[1]);
    if (a < 0 || b < 0) return std::nullopt;
    return Country(static_cast<uint16_t>(1 + a * 26 + b));
  }
  static constexpr Country from_index(size_t i) {
    return i < kCountrySlots ? Country(static_cast<uint16_t>(i)) : Country();
  }

  constexpr bool known() const { return index_ != 0; }
  constexpr size_t index() const { return index_; }
  // "DE"; "-" when unknown (the access log's empty value).
  std::string_view code() const { return known() ? std::string_view(text_, 2) : "-"; }
  // "DE"; "unknown" when unknown (the metric label).
  std::string_view label() const { return known() ? std::string_view(text_, 2) : "unknown"; }

  constexpr bool operator==(const Country& o) const { return index_ == o.index_; }

 private:
  constexpr explicit Country(uint16_t index) : index_(index) {
    if (index_ != 0) {
      text_[0] = static_cast<char>('A' + (index_ - 1) / 26);
      text_[1] = static_cast<char>('A' + (index_ - 1) % 26);
    }
  }
  static constexpr int letter(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a';
    return -1;
  }

  uint16_t index_ = 0;
  char text_[2] = {'-', '-'};
};

}  // namespace routing
